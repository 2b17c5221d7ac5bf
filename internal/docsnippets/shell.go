package docsnippets

import "strings"

// Segments splits one logical shell line into the words of its simple
// commands: ; & && | || ( ) end a command; $(…) is a command of its own
// whose value is a Placeholder in the outer word, as is a $VAR or ${VAR};
// quotes and backslashes are removed; redirections and their targets are
// dropped; a # at the start of a word comments out the rest.
func Segments(line string) [][]string {
	l := &lexer{src: []rune(line)}
	l.list(false)
	return l.out
}

type lexer struct {
	src []rune
	pos int
	out [][]string
}

// cmd is the simple command being read.
type cmd struct {
	words    []string
	word     strings.Builder
	inWord   bool
	redirect bool // the next word is a redirection's target
}

func (c *cmd) endWord() {
	if !c.inWord {
		return
	}
	if c.redirect {
		c.redirect = false
	} else {
		c.words = append(c.words, c.word.String())
	}
	c.word.Reset()
	c.inWord = false
}

func (l *lexer) endCmd(c *cmd) {
	c.endWord()
	if len(c.words) > 0 {
		l.out = append(l.out, c.words)
	}
	c.words = nil
}

// list reads commands to the end of the line or, when sub, to the ) that
// closes a $(…).
func (l *lexer) list(sub bool) {
	c := &cmd{}
	for l.pos < len(l.src) {
		r := l.src[l.pos]
		switch {
		case r == ' ' || r == '\t':
			c.endWord()
			l.pos++
		case r == '#' && !c.inWord:
			l.pos = len(l.src)
		case r == ')' && sub:
			l.pos++
			l.endCmd(c)
			return
		case r == '>' || r == '<' || r == '&' && l.peek(1) == '>':
			l.redirection(c)
		case strings.ContainsRune(";&|()", r):
			l.endCmd(c)
			l.pos++
		default:
			l.wordPart(c)
		}
	}
	l.endCmd(c)
}

// redirection drops an operator (2>, >>, <<-, &>, >&) and marks its target.
func (l *lexer) redirection(c *cmd) {
	if c.inWord && strings.Trim(c.word.String(), "0123456789") == "" {
		c.word.Reset() // the descriptor of 2>
		c.inWord = false
	}
	c.endWord()
	for l.pos < len(l.src) && strings.ContainsRune("<>&-", l.src[l.pos]) {
		l.pos++
	}
	c.redirect = true
}

func (l *lexer) peek(n int) rune {
	if l.pos+n < len(l.src) {
		return l.src[l.pos+n]
	}
	return 0
}

// wordPart reads one piece of a word: a quoted string, an escape, an
// expansion or a plain character.
func (l *lexer) wordPart(c *cmd) {
	c.inWord = true
	switch r := l.src[l.pos]; r {
	case '\\':
		if l.pos+1 < len(l.src) {
			c.word.WriteRune(l.src[l.pos+1])
		}
		l.pos += 2
	case '\'':
		end := l.pos + 1
		for end < len(l.src) && l.src[end] != '\'' {
			end++
		}
		c.word.WriteString(string(l.src[l.pos+1 : min(end, len(l.src))]))
		l.pos = end + 1
	case '"':
		l.pos++
		l.double(c)
	case '$':
		l.dollar(c)
	default:
		c.word.WriteRune(r)
		l.pos++
	}
}

// double reads a "…" string after its opening quote.
func (l *lexer) double(c *cmd) {
	for l.pos < len(l.src) {
		switch r := l.src[l.pos]; {
		case r == '"':
			l.pos++
			return
		case r == '\\' && l.pos+1 < len(l.src) && strings.ContainsRune("\"\\$`", l.src[l.pos+1]):
			c.word.WriteRune(l.src[l.pos+1])
			l.pos += 2
		case r == '$':
			l.dollar(c)
		default:
			c.word.WriteRune(r)
			l.pos++
		}
	}
}

// dollar reads $(…), ${…}, $NAME or $? and writes a Placeholder; a lone $
// stays itself.
func (l *lexer) dollar(c *cmd) {
	next := l.peek(1)
	switch {
	case next == '(':
		l.pos += 2
		l.list(true)
	case next == '{':
		for l.pos < len(l.src) && l.src[l.pos] != '}' {
			l.pos++
		}
		l.pos++
	case next == '_' || next >= 'A' && next <= 'Z' || next >= 'a' && next <= 'z':
		l.pos++
		for l.pos < len(l.src) && isNameChar(l.src[l.pos]) {
			l.pos++
		}
	case next != 0 && strings.ContainsRune("?#@*!$0123456789", next):
		l.pos += 2
	default:
		c.word.WriteRune('$')
		l.pos++
		return
	}
	c.word.WriteString(Placeholder)
}

func isNameChar(r rune) bool {
	return r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
}
