package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testissuer"
)

// TestSubmitChecksSubmitFiles: submit (and its dry run) refuses what
// condor_submit refuses, with file:line:col, before anything is sent; it
// takes --var, --queue and --allow-commands as describe does.
func TestSubmitChecksSubmitFiles(t *testing.T) {
	dir := t.TempDir()
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{"127.0.0.1:9"}, Scope: "compute.create compute.read compute.modify compute.cancel", Lifetime: time.Hour})
	vars := map[string]string{"BEARER_TOKEN": tok, "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	ce := "condor://127.0.0.1:9" // nothing listens: a dry run must not need it
	noexe := write("noexe.sub", "arguments = x\nqueue\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", noexe}, "noexe.sub:2:1: no executable given before this queue statement"},
		{[]string{"-f", write("std.sub", "universe = standard\nexecutable = /bin/true\nqueue\n")}, "std.sub:1:1: the standard universe is not supported"},
		{[]string{"-f", write("exe.sub", "executable = /no/such/exe\nqueue\n")}, "exe.sub:1:1: executable file /no/such/exe does not exist"},
		{[]string{"-f", write("q.sub", "executable = /bin/true\nqueue\n"), "--queue", "2"}, "q.sub:2:1: --queue conflicts"},
		{[]string{"-f", write("v.sub", "executable = /bin/true\n"), "--var", "novalue"}, `--var "novalue": want NAME=VALUE`},
	} {
		for _, dry := range []bool{true, false} {
			args := append([]string{"submit", "-C", ce}, tc.args...)
			if dry {
				args = append(args, "--dry-run")
			}
			r := run(t, vars, args...)
			if r.code != 2 || !strings.Contains(r.err, tc.want) {
				t.Errorf("%v: exit %d %q, want 2 and %q", args, r.code, r.err, tc.want)
			}
		}
	}
	r := run(t, vars, "submit", "-C", ce, "--dry-run", "-f", write("vq.sub", "executable = /bin/echo\narguments = $(Msg)\n"), "--var", "Msg=hello", "--queue", "2")
	if r.code != 0 || strings.Count(r.out, `Args = "hello"`) != 2 || !strings.Contains(r.out, "ProcId = 1") {
		t.Errorf("--var Msg=hello --queue 2: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

// TestProxyRTEWarning: --delegate auto with a token warns about a job that
// asks for ENV/PROXY (it would get no proxy); explicit choices do not.
func TestProxyRTEWarning(t *testing.T) {
	dir := t.TempDir()
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{"https://127.0.0.1:9"}, Scope: "compute.create", Lifetime: time.Hour})
	vars := map[string]string{"BEARER_TOKEN": tok, "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	desc := filepath.Join(dir, "j.xrsl")
	_ = os.WriteFile(desc, []byte(`&(executable="/bin/true")(runtimeenvironment="ENV/PROXY")`), 0o644)
	r := run(t, vars, "submit", "-C", "https://127.0.0.1:9/arex", "-f", desc, "--dry-run")
	if !strings.Contains(r.err, "asks for runtime environment ENV/PROXY") {
		t.Errorf("no warning for ENV/PROXY with a token: exit %d %s", r.code, r.err)
	}
	r = run(t, vars, "submit", "-C", "https://127.0.0.1:9/arex", "-f", desc, "--dry-run", "--delegate", "none")
	if strings.Contains(r.err, "ENV/PROXY") {
		t.Errorf("--delegate none was chosen: no warning wanted: %s", r.err)
	}
}
