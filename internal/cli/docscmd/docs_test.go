package docscmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestConfigReferenceUpToDate keeps docs/configuration.md generated from the declarations.
func TestConfigReferenceUpToDate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != ConfigReference() {
		t.Fatal("docs/configuration.md is stale: run `make docs` (cesub docs config > docs/configuration.md)")
	}
}

func sampleTree() *cobra.Command {
	root := &cobra.Command{Use: "tool", Short: "A tool", Long: "First paragraph.\n\n.starts with a dot\nback\\slash and … dots\n\n  indented example\n  kept"}
	root.PersistentFlags().StringP("output", "o", "text", "output `format`")
	sub := &cobra.Command{Use: "run FILE…", Short: "Run things", Example: "  tool run a.txt", RunE: func(*cobra.Command, []string) error { return nil }}
	sub.Flags().Bool("dry-run", false, "do nothing")
	sub.Flags().Int("count", 1, "how many")
	sub.Flags().String("secret", "", "hidden one")
	_ = sub.Flags().MarkHidden("secret")
	root.AddCommand(sub, &cobra.Command{Use: "old", Short: "gone", Hidden: true, Run: func(*cobra.Command, []string) {}})
	return root
}

func TestGenMan(t *testing.T) {
	dir := t.TempDir()
	if err := GenManTree(sampleTree(), ManHeader{Title: "TOOL", Section: "1", Source: "tool 1.0", Manual: "tool manual"}, dir); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "tool-run.1 tool.1" {
		t.Fatalf("pages %v, want tool-run.1 tool.1 (no page for the hidden command)", names)
	}
	root, _ := os.ReadFile(filepath.Join(dir, "tool.1"))
	run, _ := os.ReadFile(filepath.Join(dir, "tool-run.1"))
	for _, w := range []string{`.TH "TOOL" "1" "" "tool 1.0" "tool manual"`, "\\&.starts with a dot", `back\eslash`, `\[u2026]`,
		".nf\n  indented example\n  kept\n.fi", ".SH COMMANDS\n.TP\n.B run\nRun things", ".BR tool\\-run (1)"} {
		if !strings.Contains(string(root), w) {
			t.Errorf("tool.1 lacks %q:\n%s", w, root)
		}
	}
	if strings.Contains(string(root), "old") {
		t.Errorf("tool.1 lists the hidden command")
	}
	for _, w := range []string{".SH NAME\ntool\\-run \\- Run things", "\\fB\\-\\-dry\\-run\\fP\ndo nothing", "\\fB\\-\\-count\\fP=\\fIint\\fP\nhow many (default 1)",
		".SH OPTIONS INHERITED FROM PARENT COMMANDS\n.TP\n\\fB\\-o\\fP, \\fB\\-\\-output\\fP=\\fIformat\\fP\noutput format (default text)",
		".SH EXAMPLES\n.nf\n  tool run a.txt\n.fi", ".BR tool (1)"} {
		if !strings.Contains(string(run), w) {
			t.Errorf("tool-run.1 lacks %q:\n%s", w, run)
		}
	}
	if strings.Contains(string(run), "secret") {
		t.Errorf("hidden flag documented")
	}
	// groff, where installed, must read every page without a warning
	if _, err := exec.LookPath("groff"); err == nil {
		for _, p := range []string{"tool.1", "tool-run.1"} {
			out, err := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, p)).CombinedOutput()
			if err != nil || len(out) > 0 {
				t.Errorf("groff %s: %v %s", p, err, out)
			}
		}
	}
}

func TestGenMarkdown(t *testing.T) {
	dir := t.TempDir()
	if err := GenMarkdownTree(sampleTree(), dir); err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(filepath.Join(dir, "tool.md"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := os.ReadFile(filepath.Join(dir, "tool_run.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(root), "* [tool run](tool_run.md)\t - Run things") || strings.Contains(string(root), "old") {
		t.Errorf("tool.md:\n%s", root)
	}
	for _, w := range []string{"## tool run\n\nRun things", "```\ntool run FILE… [flags]\n```", "--dry-run", "### Options inherited from parent commands", "* [tool](tool.md)"} {
		if !strings.Contains(string(run), w) {
			t.Errorf("tool_run.md lacks %q:\n%s", w, run)
		}
	}
}
