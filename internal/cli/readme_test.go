package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/docsnippets"
	"github.com/cesub/cesub/pkg/token"
)

// parseOnly checks that args name an existing command and that its flags and
// (unless inline, where prose may abbreviate) its arguments parse, running
// nothing: what cobra does before a command runs.
func parseOnly(args []string, inline bool) error {
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}},
		Env: token.Env{Getenv: func(string) string { return "" }}, Version: "test"}
	root := NewCmdRoot(f)
	root.InitDefaultHelpFlag() // what Execute adds before it parses
	root.InitDefaultVersionFlag()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if err := cmd.ParseFlags(rest); err != nil && !(inline && strings.Contains(err.Error(), "flag needs an argument")) {
		return err // prose may name a flag without its value (`cesub test -E`)
	}
	pos := cmd.Flags().Args()
	if cmd.HasSubCommands() && len(pos) > 0 {
		return fmt.Errorf("unknown command %q for %q", pos[0], cmd.CommandPath())
	}
	if cmd == root && len(pos) > 0 {
		return fmt.Errorf("unknown command %q", pos[0])
	}
	if inline {
		return nil
	}
	return errors.Join(cmd.ValidateArgs(pos), cmd.ValidateRequiredFlags(), cmd.ValidateFlagGroups())
}

// misspeltOnPurpose are command lines the documents show as mistakes.
var misspeltOnPurpose = map[string]bool{"token shw": true} // exit-codes.md: a mistyped subcommand exits 2

// TestReadmeCommandsParse: every cesub command line of the README and of the
// user docs (docs/*.md) names a command that exists with flags it has, so
// the documents cannot rot as commands change. Inline code that elides
// arguments (`cesub --auth x509 …`) is left out.
func TestReadmeCommandsParse(t *testing.T) {
	root := filepath.Join("..", "..")
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range append([]string{filepath.Join(root, "README.md")}, docs...) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		cmds := docsnippets.Commands(string(b))
		name, _ := filepath.Rel(root, doc)
		if want := map[string]int{"README.md": 40, "docs/troubleshooting.md": 10, "docs/factories.md": 10}[name]; len(cmds) < want {
			t.Errorf("%s: only %d cesub command lines found, want at least %d: the extraction is broken", name, len(cmds), want)
		}
		for _, c := range cmds {
			line := strings.Join(c.Args, " ")
			if c.Inline && strings.Contains(c.Text, "…") || misspeltOnPurpose[line] {
				continue
			}
			if err := parseOnly(c.Args, c.Inline); err != nil {
				t.Errorf("%s:%d: cesub %s: %v\n\t%s", name, c.Line, line, err, c.Text)
			}
		}
	}
}

// TestReadmeCheckerRefuses: the check above fails on what a stale document
// would hold.
func TestReadmeCheckerRefuses(t *testing.T) {
	for _, line := range []string{
		`cesub stauts -a`,                     // no such command
		`cesub token shw`,                     // no such subcommand
		`cesub status --wacth JOB`,            // no such flag
		`cesub status --interval soon JOB`,    // a value that does not parse
		`cesub submit -C ce -f`,               // flag without its value
		`JOB=$(cesub version extra-argument)`, // too many arguments
	} {
		cmds := docsnippets.Commands("```sh\n" + line + "\n```\n")
		if len(cmds) != 1 {
			t.Fatalf("%s: %d commands found", line, len(cmds))
		}
		if err := parseOnly(cmds[0].Args, false); err == nil {
			t.Errorf("%s: accepted", line)
		}
	}
	if err := parseOnly([]string{"status", "--watch", "--interval", "10s", "X"}, false); err != nil {
		t.Errorf("a good line refused: %v", err)
	}
}
