package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/cobra"
)

// exitCase is one invocation of a command and the exit code it must give.
type exitCase struct {
	cmd  string // the command's path below cesub, e.g. "token check"
	code int
	why  string
	// args builds the arguments after the command path from the case's
	// job list and its two jobs' ids.
	args func(list, a, b string) []string
	vars map[string]string // nil: the test token
	lose int               // jobs removed from the CE before the run (1: partial, 2: all)
	done bool              // the jobs finished before the run
}

// exitWorld is the fake CE and credentials the exit-code cases run with.
type exitWorld struct {
	fake *cetest.Fake
	ce   string
	tok  map[string]string
	dir  string
}

func newExitWorld(t *testing.T) *exitWorld {
	fake := cetest.NewFake("", "exitce")
	cetest.Register(ce.Backends, "exitce", "exitce", fake)
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{"exitce://ce.example:7777"}, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	return &exitWorld{fake: fake, ce: "exitce://ce.example", tok: map[string]string{"BEARER_TOKEN": tok}, dir: t.TempDir()}
}

// file writes a file of the test's and returns its path.
func (w *exitWorld) file(name, body string) string {
	p := filepath.Join(w.dir, name)
	_ = os.WriteFile(p, []byte(body), 0o600)
	return p
}

// jobs submits two jobs to the fake CE onto a fresh job list, finishes them
// if done, and removes the first lose of them from the CE.
func (w *exitWorld) jobs(t *testing.T, lose int, done bool) (list, a, b string) {
	t.Helper()
	list = filepath.Join(t.TempDir(), "jobs.db")
	r := run(t, w.tok, "submit", "-C", w.ce, "-j", list, "-o", "json", "-e",
		`+(&(executable="/bin/echo")(arguments="x")(jobname="a"))(&(executable="/bin/echo")(jobname="b"))`)
	var sub struct{ Jobs []struct{ ID string } }
	if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 2 {
		t.Fatalf("submit for the case: %d %v %s %s", r.code, err, r.out, r.err)
	}
	for i, j := range sub.Jobs {
		_, local, _ := cetest.ParseJobID(j.ID)
		if done {
			w.fake.SetState(local, ce.StateFinished, new(int))
		}
		if i < lose {
			_, _ = w.fake.Clean(t.Context(), []string{local})
		}
	}
	return list, sub.Jobs[0].ID, sub.Jobs[1].ID
}

// exitCases: for each command, an invocation for each exit code it can
// give (0 ok, 1 error, 3 partial, 4 authentication). 2 (usage) is added for
// every command by the test.
func exitCases(w *exitWorld) []exitCase {
	none := map[string]string{}
	closed := "https://localhost:1/arex" // nothing listens: an error, not a refusal
	ids := func(extra ...string) func(l, a, b string) []string {
		return func(l, a, b string) []string { return append([]string{"-j", l, a, b}, extra...) }
	}
	one := func(extra ...string) func(l, a, b string) []string {
		return func(l, a, b string) []string { return append([]string{"-j", l, a}, extra...) }
	}
	at := func(args ...string) func(l, a, b string) []string {
		return func(l, _, _ string) []string { return append(append([]string{}, args...), "-j", l) }
	}
	plain := func(args ...string) func(l, a, b string) []string {
		return func(string, string, string) []string { return args }
	}
	get := func(l, a, b string) []string {
		return []string{"-j", l, a, b, "-D", filepath.Join(w.dir, "dl"+filepath.Base(filepath.Dir(l)))}
	}
	cs := []exitCase{
		{cmd: "submit", code: 0, args: at("-C", w.ce, "-e", `&(executable="/bin/true")`)},
		{cmd: "submit", code: 1, why: "nothing listens", args: at("-C", closed, "-e", `&(executable="/bin/true")`)},
		{cmd: "submit", code: 2, why: "a description that does not parse", args: at("-C", w.ce, "-e", `&(executable="/bin/true"`)},
		{cmd: "submit", code: 2, why: "an input file that does not exist", args: at("-C", w.ce, "-e", `&(executable="/bin/true")(inputfiles=("nope" "`+filepath.Join(w.dir, "nope")+`"))`)},
		{cmd: "submit", code: 4, why: "no credential", vars: none, args: at("-C", w.ce, "-e", `&(executable="/bin/true")`)},
		{cmd: "describe", code: 0, args: plain(w.file("good.xrsl", `&(executable="/bin/true")`))},
		{cmd: "describe", code: 1, why: "unreadable file", args: plain(filepath.Join(w.dir, "missing.xrsl"))},
		{cmd: "describe", code: 2, why: "a description that does not parse", args: plain(w.file("bad.xrsl", `&(executable=`))},
		{cmd: "ping", code: 0, args: at("-C", w.ce)},
		{cmd: "ping", code: 1, why: "nothing listens", args: at("-C", closed)},
		{cmd: "ping", code: 4, why: "no credential", vars: none, args: at("-C", w.ce)},
		{cmd: "info", code: 0, args: at("-C", w.ce)},
		{cmd: "info", code: 1, why: "nothing listens", args: at("-C", closed)},
		{cmd: "info", code: 4, why: "no credential", vars: none, args: at("-C", w.ce)},
		{cmd: "sync", code: 0, args: at("-C", w.ce)},
		{cmd: "sync", code: 1, why: "nothing listens", args: at("-C", closed)},
		{cmd: "sync", code: 4, why: "no credential", vars: none, args: at("-C", w.ce)},
		{cmd: "test", code: 1, why: "nothing listens", args: at("-C", closed)},
		{cmd: "test", code: 2, why: "no CE named", args: plain()},
		{cmd: "cat", code: 0, args: one()},
		{cmd: "cat", code: 1, why: "the CE lost the job", lose: 2, args: one()},
		{cmd: "cat", code: 4, why: "no credential", vars: none, args: one()},
		{cmd: "get", code: 0, done: true, args: get},
		{cmd: "get", code: 1, why: "the CE lost the jobs", done: true, lose: 2, args: get},
		{cmd: "get", code: 3, why: "one job lost", done: true, lose: 1, args: get},
		{cmd: "get", code: 4, why: "no credential", done: true, vars: none, args: get},
		{cmd: "version", code: 0, args: plain()},
		{cmd: "joblist", code: 0, why: "its help", args: plain()},
		{cmd: "joblist migrate", code: 0, args: func(list, _, _ string) []string {
			return []string{"--from", list, "--to", filepath.Join(w.dir, "copy.db")}
		}},
		{cmd: "joblist migrate", code: 1, why: "--to cannot be made", args: func(list, _, _ string) []string {
			return []string{"--from", list, "--to", "/dev/null/x/jobs.db"}
		}},
		{cmd: "token", code: 0, why: "its help", args: plain()},
		{cmd: "proxy", code: 0, why: "its help", args: plain()},
		{cmd: "docs", code: 0, why: "its help", args: plain()},
		{cmd: "compat", code: 0, why: "its help", args: plain()},
		{cmd: "compat list", code: 0, args: plain()},
		{cmd: "compat install", code: 0, args: plain(filepath.Join(w.dir, "links"))},
		{cmd: "compat install", code: 1, why: "a file of a tool's name is not a link to cesub", args: plain(filepath.Dir(w.file("arcsub", "")), "--family", "arc")},
		{cmd: "compat install", code: 2, why: "no DIR", args: plain()},
		{cmd: "help", code: 0, args: plain("status")},
		{cmd: "completion bash", code: 0, args: plain()},
		{cmd: "docs man", code: 0, args: plain(filepath.Join(w.dir, "man"))},
		{cmd: "docs man", code: 1, why: "DIR is a file", args: plain("/dev/null/x")},
		{cmd: "docs markdown", code: 0, args: plain(filepath.Join(w.dir, "md"))},
		{cmd: "docs config", code: 0, args: plain()},
		{cmd: "token show", code: 0, args: plain()},
		{cmd: "token show", code: 4, why: "no token", vars: none, args: plain()},
		{cmd: "token check", code: 0, args: plain("--ce", w.ce)},
		{cmd: "token check", code: 4, why: "no token", vars: none, args: plain("--ce", w.ce)},
		{cmd: "token get", code: 1, why: "no OIDC_SOCK", args: plain("--oidc-agent", "a")},
		{cmd: "token get", code: 2, why: "no source named", args: plain()},
		{cmd: "token get", code: 2, why: "--device without --issuer", args: plain("--device", "--client-id", "c")},
		{cmd: "token get", code: 4, why: "--refresh without a device login", args: plain("--refresh")},
		{cmd: "proxy info", code: 4, why: "no proxy", args: plain("--proxy", filepath.Join(w.dir, "noproxy"))},
		{cmd: "proxy init", code: 4, why: "no user certificate", args: plain("--cert", filepath.Join(w.dir, "nocert"), "--key", filepath.Join(w.dir, "nokey"), "--proxy", filepath.Join(w.dir, "p"))},
		{cmd: "proxy destroy", code: 0, why: "no proxy is not an error", args: plain("--proxy", filepath.Join(w.dir, "noproxy"))},
	}
	for _, c := range []string{"status", "kill", "clean", "resume", "hold", "release"} {
		cs = append(cs,
			exitCase{cmd: c, code: 0, args: ids()},
			exitCase{cmd: c, code: 1, why: "the CE lost the jobs", lose: 2, args: ids()},
			exitCase{cmd: c, code: 3, why: "one job lost", lose: 1, args: ids()},
			exitCase{cmd: c, code: 4, why: "no credential", vars: none, args: ids()})
	}
	return cs
}

// leafCommands are the runnable commands of the tree, by path below cesub.
func leafCommands() []string {
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}},
		Env: token.Env{Getenv: func(string) string { return "" }}, Version: "test"}
	root := newCmdRoot(f, "")
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if s.Hidden || s.Name() == "__complete" || s.Name() == "__completeNoDesc" {
				continue
			}
			if s.Runnable() {
				out = append(out, strings.TrimPrefix(s.CommandPath(), root.Name()+" "))
			}
			walk(s)
		}
	}
	walk(root)
	return out
}

// TestExitCodesOfEveryCommand: each code means one thing in every command
// (docs/exit-codes.md): every runnable command is run once for each code it
// can give, against a fake CE, a closed port and missing credentials, and
// with an unknown flag (2). A command added without cases fails the test.
func TestExitCodesOfEveryCommand(t *testing.T) {
	w := newExitWorld(t)
	cases := exitCases(w)
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.cmd] = true
	}
	for _, c := range leafCommands() {
		if !covered[c] && !strings.HasPrefix(c, "completion ") {
			t.Errorf("command %q has no exit-code cases: add them to exitCases", c)
		}
		cases = append(cases, exitCase{cmd: c, code: 2, why: "unknown flag", args: func(string, string, string) []string { return []string{"--no-such-flag"} }})
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/%d", c.cmd, c.code)
		if c.why != "" {
			name += "/" + c.why
		}
		t.Run(name, func(t *testing.T) {
			list, a, b := "", "", ""
			if c.lose > 0 || c.done || needsJobs(c) {
				list, a, b = w.jobs(t, c.lose, c.done)
			} else {
				list = filepath.Join(t.TempDir(), "jobs.db")
			}
			vars := c.vars
			if vars == nil {
				vars = w.tok
			}
			args := append(strings.Fields(c.cmd), c.args(list, a, b)...)
			r := run(t, copyVars(vars), args...)
			if r.code != c.code {
				t.Fatalf("cesub %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, c.code, r.out, r.err)
			}
			// ping and test report their failures on stdout
			reported := strings.Contains(r.out, "problem:") || strings.Contains(r.out, "FAIL")
			if c.code != 0 && c.code != 3 && c.cmd != "token check" && !reported && !strings.HasPrefix(r.err, "cesub: ") &&
				!strings.Contains(r.err, "\ncesub: ") {
				t.Errorf("exit %d without a `cesub: ` error line: %q", r.code, r.err)
			}
		})
	}
}

// needsJobs: the commands that act on jobs get two on their list.
func needsJobs(c exitCase) bool {
	switch c.cmd {
	case "status", "kill", "clean", "resume", "hold", "release", "cat", "get", "joblist migrate":
		return true
	}
	return false
}

func copyVars(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
