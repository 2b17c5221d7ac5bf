// Package docsnippets finds the shell snippets of the project's markdown
// documents: the fenced sh blocks (with the `<!-- readme-test: … -->` marker
// that precedes a block meant to be run by a test) and the cesub command
// lines in them and in inline code, so that tests can run or parse what the
// documents tell users to type. It reads shell the way the documents write
// it, not all of bash: words, quotes, $VAR, $(…), ;, &&, ||, |, redirections
// and here-documents.
package docsnippets

import (
	"strings"
)

// Block is one fenced code block.
type Block struct {
	Lang   string // the info string's first word: sh, yaml, …
	Marker string // the text of a `<!-- readme-test: TEXT -->` just before it, or ""
	Text   string // the lines between the fences, each ending in a newline
	Line   int    // the line number of the opening fence (1-based)
}

// Blocks returns the fenced (```) blocks of a markdown document in order.
func Blocks(md string) []Block {
	var out []Block
	var cur *Block
	marker := ""
	for i, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur != nil {
			if strings.HasPrefix(trimmed, "```") {
				out = append(out, *cur)
				cur = nil
				continue
			}
			cur.Text += line + "\n"
			continue
		}
		switch {
		case strings.HasPrefix(trimmed, "```"):
			lang, _, _ := strings.Cut(strings.TrimPrefix(trimmed, "```"), " ")
			cur = &Block{Lang: lang, Marker: marker, Line: i + 1}
			marker = ""
		case strings.HasPrefix(trimmed, "<!-- readme-test:") && strings.HasSuffix(trimmed, "-->"):
			marker = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(trimmed, "<!-- readme-test:"), "-->"))
		case trimmed != "":
			marker = "" // a marker belongs to the block right after it (blank lines allowed)
		}
	}
	return out
}

// Command is one cesub invocation found in a document.
type Command struct {
	Args   []string // the words after "cesub", variables and substitutions as placeholders
	Line   int      // where it is (1-based)
	Text   string   // the source line it came from
	Inline bool     // from `inline code` in prose, not from a fenced block (may abbreviate arguments)
}

// Placeholder stands for the value of a variable or a command substitution.
const Placeholder = "X"

// Commands returns every cesub command line of md: in its fenced sh/bash
// blocks (continuation lines joined, here-document bodies skipped) and in
// inline code spans of the prose that start with "cesub ".
func Commands(md string) []Command {
	var out []Command
	for _, b := range Blocks(md) {
		if b.Lang != "sh" && b.Lang != "bash" {
			continue
		}
		for _, l := range logicalLines(b.Text, b.Line+1) {
			for _, words := range Segments(l.text) {
				if args, ok := cesubArgs(words); ok {
					out = append(out, Command{Args: args, Line: l.line, Text: l.text})
				}
			}
		}
	}
	for _, s := range inlineSpans(md) {
		if !strings.HasPrefix(s.text, "cesub ") {
			continue
		}
		for _, words := range Segments(s.text) {
			if args, ok := cesubArgs(words); ok {
				out = append(out, Command{Args: args, Line: s.line, Text: s.text, Inline: true})
			}
		}
	}
	return out
}

// cesubArgs: the words after "cesub" when a simple command runs cesub
// (after any NAME=value assignments).
func cesubArgs(words []string) ([]string, bool) {
	for len(words) > 0 && isAssignment(words[0]) {
		words = words[1:]
	}
	if len(words) == 0 || words[0] != "cesub" {
		return nil, false
	}
	return words[1:], true
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

type numbered struct {
	text string
	line int
}

// logicalLines joins lines ending in a backslash and drops the bodies of
// here-documents; first is the number of the block's first line.
func logicalLines(text string, first int) []numbered {
	var out []numbered
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		l := lines[i]
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + " " + strings.TrimSpace(lines[i])
		}
		out = append(out, numbered{l, first + start})
		if delim := heredocDelimiter(l); delim != "" {
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != delim {
				i++
			}
			i++ // the delimiter line
		}
	}
	return out
}

// heredocDelimiter is the word after an unquoted << in line, unquoted, or "".
func heredocDelimiter(line string) string {
	_, rest, ok := strings.Cut(line, "<<")
	if !ok || strings.HasPrefix(rest, "<") {
		return ""
	}
	rest = strings.TrimLeft(strings.TrimPrefix(rest, "-"), " ")
	end := strings.IndexAny(rest, " ;|&")
	if end >= 0 {
		rest = rest[:end]
	}
	return strings.Trim(rest, `'"`)
}

// inlineSpans are the `code` spans of the prose (outside fenced blocks): a
// span opened by a run of N backticks ends at the next run of N (so
// “a `b` c“ is one span); it may wrap onto the next line, not past a
// blank line.
func inlineSpans(md string) []numbered {
	var out []numbered
	fenced := false
	open := 0 // the backticks that opened the current span, 0 outside one
	var span strings.Builder
	start := 0
	for i, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced, open = !fenced, 0
			continue
		}
		if fenced {
			continue
		}
		if strings.TrimSpace(line) == "" {
			open = 0
		}
		if open > 0 {
			span.WriteByte(' ')
		}
		for j := 0; j < len(line); {
			if line[j] != '`' {
				if open > 0 {
					span.WriteByte(line[j])
				}
				j++
				continue
			}
			n := len(line[j:]) - len(strings.TrimLeft(line[j:], "`"))
			switch {
			case open == 0:
				open, start = n, i+1
				span.Reset()
			case n == open:
				out = append(out, numbered{strings.TrimSpace(span.String()), start})
				open = 0
			default:
				span.WriteString(line[j : j+n])
			}
			j += n
		}
	}
	return out
}
