package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// spareEnv is the environment of a second testbed issuer and oidc-agent of
// this test's own (state in dir, the spare issuer's port that A-REX 6.17's
// arc.conf trusts): the shared testbed's services are not touched.
func spareEnv(tb *testbed.Env, dir string) []string {
	port := strings.TrimPrefix(tb.Vars["CESUB_TESTBED_SPARE_ISSUER"], "https://localhost:")
	return append(os.Environ(), "CESUB_TESTBED_STATE="+dir, "CESUB_ISSUER_PORT="+port)
}

// startInDoomedShell runs `scripts/testbed/oidc-agent up` (which starts the
// issuer too) from a shell in a process group of its own, and when the shell
// has exited kills that whole group with SIGHUP and SIGKILL, as a closed
// terminal or a test runner that kills its children does.
func startInDoomedShell(t *testing.T, tb *testbed.Env, env []string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", "scripts/testbed/oidc-agent up")
	cmd.Dir, cmd.Env = tb.Root, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("oidc-agent up (with its issuer) from a subshell: %v\n%s", err, out)
	}
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGHUP)
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// stopSpare stops the test's own issuer and oidc-agent.
func stopSpare(t *testing.T, tb *testbed.Env, env []string, which ...string) {
	for _, s := range which {
		cmd := exec.Command("scripts/testbed/"+s, "down")
		cmd.Dir, cmd.Env = tb.Root, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s down: %v\n%s", s, err, out)
		}
	}
}

// TestServicesOutliveTheirShellAndStoppedIssuerHint: the issuer and
// oidc-agent the testbed scripts start live on after the shell that started
// them and its whole process group are gone (they used to die with it); a
// token from that oidc-agent is admitted by the real A-REX 6.17. Then the
// issuer is stopped: A-REX can no longer fetch its keys and refuses the same
// token with "403 User can't be assigned configuration", which cesub turns
// into a hint naming the token's issuer (exit 4).
func TestServicesOutliveTheirShellAndStoppedIssuerHint(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	spare := tb.Get(t, "CESUB_TESTBED_SPARE_ISSUER")
	dir, err := os.MkdirTemp("", "cesub-spare-") // short: oidc-agent's socket path must stay under ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	env := spareEnv(tb, dir)
	t.Cleanup(func() { stopSpare(t, tb, env, "oidc-agent", "issuer"); _ = os.RemoveAll(dir) })
	startInDoomedShell(t, tb, env)

	sock := filepath.Join(dir, "oidc", "agent.sock")
	vars := map[string]string{"OIDC_SOCK": sock, "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	r := cesub(t, tb, vars, "token", "get", "--oidc-agent", "cesub", "--scope", "compute.create compute.read",
		"--audience", "https://localhost:8444")
	if r.code != 0 {
		t.Fatalf("token from the oidc-agent whose shell is gone: exit %d: %s", r.code, r.err)
	}
	if iss := decode(t, r.out).Claims.Issuer; iss != spare {
		t.Fatalf("token from issuer %q, want the spare issuer %q", iss, spare)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(strings.TrimSpace(r.out)), 0o600); err != nil {
		t.Fatal(err)
	}
	vars["BEARER_TOKEN_FILE"] = tokFile
	arex := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	if r := cesub(t, tb, vars, "ping", "-C", arex); r.code != 0 {
		t.Fatalf("ping with the spare issuer's token while it runs: exit %d: %s %s", r.code, r.out, r.err)
	}

	stopSpare(t, tb, env, "issuer")
	r = cesub(t, tb, vars, "ping", "-C", arex, "-o", "json")
	var p struct {
		Admitted      bool
		Problem, Hint string
	}
	if err := json.Unmarshal([]byte(r.out), &p); err != nil {
		t.Fatalf("ping -o json: %v: %s", err, r.out)
	}
	if r.code != 4 || p.Admitted || !strings.Contains(p.Problem, "can't be assigned configuration") {
		t.Fatalf("ping with the issuer stopped: exit %d, %+v; want exit 4 and A-REX's refusal", r.code, p)
	}
	for _, want := range []string{"could not validate the token", spare, "unreachable from the CE", "cesub token check --ce localhost:8444"} {
		if !strings.Contains(p.Hint, want) {
			t.Errorf("hint %q lacks %q", p.Hint, want)
		}
	}
	r = cesub(t, tb, vars, "submit", "-C", arex, "-e", "&(executable=/bin/true)")
	if r.code != 4 || !strings.Contains(r.err, "could not validate the token") {
		t.Errorf("submit with the issuer stopped: exit %d, stderr %q; want exit 4 with the hint", r.code, r.err)
	}
}
