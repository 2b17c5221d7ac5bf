package docscmd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The man pages and the markdown reference are written here rather than by
// cobra/doc: cobra/doc renders man pages through a markdown converter whose
// package initialisation cost every cesub run a millisecond of start-up, and
// the pages need nothing a few roff requests cannot say.

// ManHeader is the .TH line of every page.
type ManHeader struct {
	Title   string // CESUB
	Section string // 1
	Source  string // cesub v1.2.3
	Manual  string // cesub manual
	Date    string // optional; empty leaves the date out (reproducible pages)
}

// documented lists c and every command below it that a reader should see:
// hidden commands, help and deprecated ones are left out.
func documented(c *cobra.Command) []*cobra.Command {
	if !c.IsAvailableCommand() && c.HasParent() || c.IsAdditionalHelpTopicCommand() {
		return nil
	}
	out := []*cobra.Command{c}
	for _, s := range c.Commands() {
		out = append(out, documented(s)...)
	}
	return out
}

// pageName is the file name stem of c's page: "cesub-token-get".
func pageName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

// GenManTree writes a section-N page for root and every documented command
// below it into dir, one file per command (cesub-token-get.1).
func GenManTree(root *cobra.Command, h ManHeader, dir string) error {
	for _, c := range documented(root) {
		path := filepath.Join(dir, pageName(c)+"."+h.Section)
		if err := writeFile(path, func(w io.Writer) error { return GenMan(c, h, w) }); err != nil {
			return err
		}
	}
	return nil
}

// GenMarkdownTree writes one markdown file per documented command into dir
// (cesub_token_get.md, the names cobra/doc used), linked to each other.
func GenMarkdownTree(root *cobra.Command, dir string) error {
	for _, c := range documented(root) {
		path := filepath.Join(dir, mdName(c))
		if err := writeFile(path, func(w io.Writer) error { return GenMarkdown(c, w) }); err != nil {
			return err
		}
	}
	return nil
}

func mdName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
}

func writeFile(path string, gen func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := gen(w); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// roff escapes text for a man page line: backslashes, a leading dot or
// apostrophe (which would make the line a request), and hyphens (which troff
// would otherwise hyphenate or print as a typographic dash in options).
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if !isASCII(s) { // groff reads Latin-1 unless told: name other characters
		var b strings.Builder
		for _, r := range s {
			if r < 0x80 {
				b.WriteRune(r)
			} else {
				fmt.Fprintf(&b, `\[u%04X]`, r)
			}
		}
		s = b.String()
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// paragraphs turns text with blank-line separated paragraphs into roff,
// keeping indented lines (examples, lists) as they are.
func paragraphs(w io.Writer, text string) {
	for i, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			fmt.Fprintln(w, ".PP")
		}
		indented := false
		for _, l := range strings.Split(p, "\n") {
			if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
				indented = true
			}
		}
		if indented {
			fmt.Fprintf(w, ".nf\n%s\n.fi\n", roff(p))
		} else {
			fmt.Fprintln(w, roff(p))
		}
	}
}

// GenMan writes c's man page.
func GenMan(c *cobra.Command, h ManHeader, w io.Writer) error {
	name := pageName(c)
	fmt.Fprintf(w, ".TH %q %q %q %q %q\n", strings.ToUpper(name), h.Section, h.Date, h.Source, h.Manual)
	fmt.Fprintf(w, ".SH NAME\n%s \\- %s\n", roff(name), roff(c.Short))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B %s\n", roff(c.CommandPath()))
	if rest := strings.TrimSpace(strings.TrimPrefix(c.UseLine(), c.CommandPath())); rest != "" {
		fmt.Fprintln(w, roff(rest))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintln(w, ".br\n.B "+roff(c.CommandPath())+"\n.I command\n[flags]")
	}
	fmt.Fprintln(w, ".SH DESCRIPTION")
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	paragraphs(w, desc)
	if subs := available(c.Commands()); len(subs) > 0 {
		fmt.Fprintln(w, ".SH COMMANDS")
		for _, s := range subs {
			fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(s.Name()), roff(s.Short))
		}
	}
	manFlags(w, "OPTIONS", c.NonInheritedFlags())
	manFlags(w, "OPTIONS INHERITED FROM PARENT COMMANDS", c.InheritedFlags())
	if c.Example != "" {
		fmt.Fprintf(w, ".SH EXAMPLES\n.nf\n%s\n.fi\n", roff(strings.TrimRight(c.Example, "\n")))
	}
	fmt.Fprintln(w, ".SH SEE ALSO")
	var see []string
	if c.HasParent() {
		see = append(see, pageName(c.Parent()))
	}
	for _, s := range available(c.Commands()) {
		see = append(see, pageName(s))
	}
	if !c.HasParent() && len(see) == 0 {
		see = append(see, "cesub")
	}
	for i, s := range see {
		sep := ","
		if i == len(see)-1 {
			sep = ""
		}
		fmt.Fprintf(w, ".BR %s (%s)%s\n", roff(s), h.Section, sep)
	}
	return nil
}

func available(cs []*cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, s := range cs {
		if s.IsAvailableCommand() && !s.IsAdditionalHelpTopicCommand() {
			out = append(out, s)
		}
	}
	return out
}

// manFlags writes one .TP entry per visible flag: "-o, --output=text".
func manFlags(w io.Writer, title string, fs *pflag.FlagSet) {
	var fl []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			fl = append(fl, f)
		}
	})
	if len(fl) == 0 {
		return
	}
	sort.Slice(fl, func(i, j int) bool { return fl[i].Name < fl[j].Name })
	fmt.Fprintf(w, ".SH %s\n", title)
	for _, f := range fl {
		head := ""
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			head = `\fB\-` + f.Shorthand + `\fP, `
		}
		head += `\fB\-\-` + roff(f.Name) + `\fP`
		varname, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" && f.Value.Type() != "count" {
			if varname == "" {
				varname = f.Value.Type()
			}
			head += `=\fI` + roff(varname) + `\fP`
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		fmt.Fprintf(w, ".TP\n%s\n%s\n", head, roff(usage))
	}
}

// GenMarkdown writes c's reference page in markdown.
func GenMarkdown(c *cobra.Command, w io.Writer) error {
	fmt.Fprintf(w, "## %s\n\n%s\n\n", c.CommandPath(), c.Short)
	if c.Long != "" {
		fmt.Fprintf(w, "### Synopsis\n\n%s\n\n", strings.TrimSpace(c.Long))
	}
	if c.Runnable() {
		fmt.Fprintf(w, "```\n%s\n```\n\n", c.UseLine())
	}
	if c.Example != "" {
		fmt.Fprintf(w, "### Examples\n\n```\n%s\n```\n\n", strings.TrimRight(c.Example, "\n"))
	}
	if fs := c.NonInheritedFlags(); fs.HasAvailableFlags() {
		fmt.Fprintf(w, "### Options\n\n```\n%s```\n\n", fs.FlagUsages())
	}
	if fs := c.InheritedFlags(); fs.HasAvailableFlags() {
		fmt.Fprintf(w, "### Options inherited from parent commands\n\n```\n%s```\n\n", fs.FlagUsages())
	}
	var see []string
	if c.HasParent() {
		p := c.Parent()
		see = append(see, fmt.Sprintf("* [%s](%s)\t - %s", p.CommandPath(), mdName(p), p.Short))
	}
	for _, s := range available(c.Commands()) {
		see = append(see, fmt.Sprintf("* [%s](%s)\t - %s", s.CommandPath(), mdName(s), s.Short))
	}
	if len(see) > 0 {
		fmt.Fprintf(w, "### See also\n\n%s\n", strings.Join(see, "\n"))
	}
	return nil
}
