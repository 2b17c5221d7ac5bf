package integration

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
)

// keyChunks are pieces of a PEM private key's base64 body, long enough to
// be unmistakable, that no output may contain.
func keyChunks(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if !strings.Contains(blk.Type, "PRIVATE KEY") {
			continue
		}
		enc := pem.EncodeToMemory(blk)
		lines := strings.Split(string(enc), "\n")
		for _, l := range lines[1 : len(lines)-2] { // the base64 lines
			if len(l) >= 32 {
				out = append(out, l[:32])
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no private key", file)
	}
	return out
}

// TestNoSecretsInAnyOutput runs every command at every verbosity (none,
// -v, -vv, --debug), the dry runs included, against the real A-REX and
// HTCondor-CE, and looks for the bearer tokens, the client secret, the user
// key and the proxy key in stdout, stderr and the job list's files. It also
// checks the modes of what cesub writes and its warnings for loose files.
func TestNoSecretsInAnyOutput(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	joblist := filepath.Join(dir, "jobs.db")
	proxy := filepath.Join(dir, "x509up")
	env := jobEnv(t, tb, joblist)
	env["X509_USER_PROXY"] = proxy
	env["X509_USER_CERT"] = tb.Get(t, "CESUB_TESTBED_USERCERT")
	env["X509_USER_KEY"] = tb.Get(t, "CESUB_TESTBED_USERKEY")
	arex := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	condorCE := tb.Get(t, "CESUB_TESTBED_CONDOR_CE")
	condorTok := condorToken(t, tb, testissuer.Claims{})
	secretFile := tb.Get(t, "CESUB_TESTBED_CLIENT_SECRET_FILE")

	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	secrets := map[string]string{
		"the A-REX token":   read(tb.Get(t, "CESUB_TESTBED_TOKEN_FILE")),
		"the condor token":  read(condorTok),
		"the client secret": read(secretFile),
	}
	for i, c := range keyChunks(t, tb.Get(t, "CESUB_TESTBED_USERKEY")) {
		secrets[fmt.Sprintf("the user key (line %d)", i+1)] = c
	}
	checkNone := func(where, text string) {
		t.Helper()
		for what, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s: %s appears", where, what)
			}
		}
	}

	r := cesub(t, tb, env, "--debug", "proxy", "init", "--validity", "2h")
	if r.code != 0 {
		t.Fatalf("proxy init: %d %s", r.code, r.err)
	}
	checkNone("proxy init --debug", r.out+r.err)
	if fi, err := os.Stat(proxy); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("proxy file: %v %v, want mode 0600", err, fi)
	}
	for i, c := range keyChunks(t, proxy) {
		secrets[fmt.Sprintf("the proxy key (line %d)", i+1)] = c
	}

	desc := filepath.Join(dir, "job.xrsl")
	_ = os.WriteFile(desc, []byte(`&(executable="/bin/echo")(arguments="hi")(stdout="out.txt")(jobname="secrets")`), 0o644)
	sub := filepath.Join(dir, "job.sub")
	_ = os.WriteFile(sub, []byte("executable = /bin/true\nqueue\n"), 0o644)
	written := filepath.Join(dir, "written-token")
	condor := map[string]string{"BEARER_TOKEN_FILE": condorTok}
	type step struct {
		args  []string
		extra map[string]string
	}
	steps := []step{
		{args: []string{"version"}},
		{args: []string{"token", "show"}},
		{args: []string{"token", "check", "--ce", arex}},
		{args: []string{"token", "get", "--client-credentials", "--issuer", tb.Get(t, "CESUB_TESTBED_ISSUER"),
			"--client-id", tb.Get(t, "CESUB_TESTBED_CLIENT_ID"), "--client-secret-file", secretFile, "--write", "--write-path", written}},
		{args: []string{"describe", desc, "--to", "adl"}},
		{args: []string{"proxy", "info"}},
		{args: []string{"ping", "-C", arex}},
		{args: []string{"ping", "-C", arex, "--auth", "x509"}},
		{args: []string{"info", "-C", arex}},
		{args: []string{"submit", "-C", arex, "-f", desc, "--dry-run"}},
		{args: []string{"submit", "-C", arex, "-f", desc, "--delegate", "x509"}},
		{args: []string{"status", "-a"}},
		{args: []string{"cat", "JOB"}},
		{args: []string{"sync", "-C", arex}},
		{args: []string{"kill", "-a"}},
		{args: []string{"resume", "-a"}},
		{args: []string{"get", "-a", "-D", filepath.Join(dir, "dl")}},
		{args: []string{"clean", "-a"}},
		{args: []string{"ping", "-C", condorCE}, extra: condor},
		{args: []string{"submit", "-C", condorCE, "-f", sub, "--dry-run"}, extra: condor},
		{args: []string{"submit", "-C", condorCE, "-f", sub}, extra: condor},
		{args: []string{"status", "-a"}, extra: condor},
		{args: []string{"clean", "-a"}, extra: condor},
	}
	job := ""
	for _, v := range [][]string{nil, {"-v"}, {"-vv"}, {"--debug"}} {
		for _, s := range steps {
			e := map[string]string{}
			for k, val := range env {
				e[k] = val
			}
			for k, val := range s.extra {
				e[k] = val
			}
			args := append([]string{}, v...)
			for _, a := range s.args {
				if a == "JOB" {
					a = job
				}
				args = append(args, a)
			}
			r := cesub(t, tb, e, args...)
			if s.args[0] == "submit" && r.code == 0 && !strings.Contains(strings.Join(s.args, " "), "dry-run") {
				job = strings.TrimSpace(r.out)
			}
			checkNone(strings.Join(args, " "), r.out+r.err)
			if len(v) > 0 && v[0] == "--debug" && s.args[0] != "version" && s.args[0] != "describe" && !strings.Contains(r.err, "debug:") {
				t.Errorf("%v: no debug output; the check would prove nothing", args)
			}
		}
	}
	for _, p := range []string{joblist, joblist + "-wal", joblist + "-shm"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		checkNone(filepath.Base(p), string(b))
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(written); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token get --write: %v %v, want mode 0600", err, fi)
	}

	// looser files than cesub makes are warned about
	_ = os.Chmod(proxy, 0o644)
	if r := cesub(t, tb, env, "ping", "-C", arex, "--auth", "x509"); !strings.Contains(r.err, "proxy "+proxy+" has mode 0644") {
		t.Errorf("a proxy readable by others: no warning: %s", r.err)
	}
	_ = os.Chmod(joblist, 0o644)
	if r := cesub(t, tb, env, "status", "-a"); !strings.Contains(r.err, "had mode 0644") {
		t.Errorf("a job list readable by others: no warning: %s", r.err)
	}
	loose := filepath.Join(dir, "loose-token")
	_ = os.WriteFile(loose, []byte(secrets["the A-REX token"]), 0o644)
	if r := cesub(t, tb, map[string]string{"BEARER_TOKEN_FILE": loose}, "token", "show"); !strings.Contains(r.err, "has mode 0644") {
		t.Errorf("a token file readable by others: no warning: %s", r.err)
	}
}
