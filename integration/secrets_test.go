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
	"github.com/cesub/cesub/pkg/token"
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
// HTCondor-CE, and looks for the bearer tokens, the client secret, the
// device login's refresh token, the user key and the proxy key in stdout,
// stderr and the job list's files. It also checks the modes of what cesub
// writes and its warnings for loose files.
func TestNoSecretsInAnyOutput(t *testing.T) {
	tb := testbed.Require(t)
	s := newSecretsRun(t, tb)
	s.proxyInit(t)
	s.deviceLogin(t)
	s.runEverywhere(t, s.steps(t))
	s.checkJobListFiles(t)
	s.checkLooseFileWarnings(t)
}

// secretsRun holds what the steps of TestNoSecretsInAnyOutput share: the
// environment cesub runs with, the files it writes and the secrets none of
// its outputs may contain (what each is -> its text).
type secretsRun struct {
	tb                        *testbed.Env
	dir, joblist, proxy       string
	env                       map[string]string
	arex, condorCE, condorTok string
	secretFile, written       string
	deviceToken, refreshFile  string // the device login's token file and refresh token file
	secrets                   map[string]string
}

// secretStep is one cesub command of the run; JOB in args stands for the
// job last submitted.
type secretStep struct {
	args  []string
	extra map[string]string
}

// newSecretsRun sets up cesub's environment (a proxy file it is to create,
// the user's certificate and key) and reads the secrets: the bearer tokens,
// the client secret and the user key's lines.
func newSecretsRun(t *testing.T, tb *testbed.Env) *secretsRun {
	t.Helper()
	dir := t.TempDir()
	joblist := filepath.Join(dir, "jobs.db")
	proxy := filepath.Join(dir, "x509up")
	env := jobEnv(t, tb, joblist)
	env["XDG_CONFIG_HOME"] = filepath.Join(dir, "cfg") // the device login's refresh token, for every step
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
	return &secretsRun{tb: tb, dir: dir, joblist: joblist, proxy: proxy, env: env, arex: arex, condorCE: condorCE,
		condorTok: condorTok, secretFile: secretFile, secrets: secrets}
}

// checkNone reports each secret that text (from where) contains.
func (s *secretsRun) checkNone(t *testing.T, where, text string) {
	t.Helper()
	for what, sec := range s.secrets {
		if sec != "" && strings.Contains(text, sec) {
			t.Errorf("%s: %s appears", where, what)
		}
	}
}

// proxyInit creates the proxy (mode 0600, no secret in --debug output) and
// adds its key's lines to the secrets.
func (s *secretsRun) proxyInit(t *testing.T) {
	t.Helper()
	r := cesub(t, s.tb, s.env, "--debug", "proxy", "init", "--validity", "2h")
	if r.code != 0 {
		t.Fatalf("proxy init: %d %s", r.code, r.err)
	}
	s.checkNone(t, "proxy init --debug", r.out+r.err)
	if fi, err := os.Stat(s.proxy); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("proxy file: %v %v, want mode 0600", err, fi)
	}
	for i, c := range keyChunks(t, s.proxy) {
		s.secrets[fmt.Sprintf("the proxy key (line %d)", i+1)] = c
	}
}

// deviceLogin logs in with the device flow at --debug (the token to its
// own file, not the one the other steps use) and adds the access and
// refresh tokens to the secrets.
func (s *secretsRun) deviceLogin(t *testing.T) {
	t.Helper()
	s.deviceToken = filepath.Join(s.dir, "device-token")
	r := deviceLogin(t, s.tb, s.env, s.tb.Get(t, "CESUB_TESTBED_DEVICE_CLIENT_ID"), testissuer.DeviceApproved,
		"--debug", "--write-path", s.deviceToken)
	if r.code != 0 || !strings.Contains(r.err, "debug:") {
		t.Fatalf("token get --device --debug: %d %s", r.code, r.err)
	}
	s.refreshFile = filepath.Join(s.env["XDG_CONFIG_HOME"], "cesub", token.RefreshTokenFile)
	b, err := os.ReadFile(s.refreshFile)
	if err != nil || strings.TrimSpace(string(b)) == "" {
		t.Fatalf("no refresh token stored: %v", err)
	}
	s.secrets["the refresh token"] = strings.TrimSpace(string(b))
	s.readDeviceToken(t)
	s.checkNone(t, "token get --device --debug", r.out+r.err)
}

// readDeviceToken adds the device login's current access token (renewed
// by the steps) to the secrets.
func (s *secretsRun) readDeviceToken(t *testing.T) {
	t.Helper()
	if b, err := os.ReadFile(s.deviceToken); err == nil {
		s.secrets["the device login's token"] = strings.TrimSpace(string(b))
	}
}

// steps writes the job descriptions and returns every command to run,
// against the A-REX and then the HTCondor-CE.
func (s *secretsRun) steps(t *testing.T) []secretStep {
	t.Helper()
	tb, arex, condorCE := s.tb, s.arex, s.condorCE
	desc := filepath.Join(s.dir, "job.xrsl")
	_ = os.WriteFile(desc, []byte(`&(executable="/bin/echo")(arguments="hi")(stdout="out.txt")(jobname="secrets")`), 0o644)
	sub := filepath.Join(s.dir, "job.sub")
	_ = os.WriteFile(sub, []byte("executable = /bin/true\nqueue\n"), 0o644)
	s.written = filepath.Join(s.dir, "written-token")
	condor := map[string]string{"BEARER_TOKEN_FILE": s.condorTok}
	return []secretStep{
		{args: []string{"version"}},
		{args: []string{"token", "show"}},
		{args: []string{"token", "check", "--ce", arex}},
		{args: []string{"token", "get", "--client-credentials", "--issuer", tb.Get(t, "CESUB_TESTBED_ISSUER"),
			"--client-id", tb.Get(t, "CESUB_TESTBED_CLIENT_ID"), "--client-secret-file", s.secretFile, "--write", "--write-path", s.written}},
		{args: []string{"token", "get", "--refresh"}},
		{args: []string{"ping", "-C", arex}, extra: map[string]string{"BEARER_TOKEN_FILE": s.deviceToken}},
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
		{args: []string{"get", "-a", "-D", filepath.Join(s.dir, "dl")}},
		{args: []string{"clean", "-a"}},
		{args: []string{"ping", "-C", condorCE}, extra: condor},
		{args: []string{"submit", "-C", condorCE, "-f", sub, "--dry-run"}, extra: condor},
		{args: []string{"submit", "-C", condorCE, "-f", sub}, extra: condor},
		{args: []string{"status", "-a"}, extra: condor},
		{args: []string{"clean", "-a"}, extra: condor},
	}
}

// runEverywhere runs every step at every verbosity (none, -v, -vv, --debug)
// and checks that no output holds a secret, and that --debug did print
// debug output (else the check would prove nothing).
func (s *secretsRun) runEverywhere(t *testing.T, steps []secretStep) {
	t.Helper()
	job := ""
	for _, v := range [][]string{nil, {"-v"}, {"-vv"}, {"--debug"}} {
		for _, st := range steps {
			e := map[string]string{}
			for k, val := range s.env {
				e[k] = val
			}
			for k, val := range st.extra {
				e[k] = val
			}
			args := append([]string{}, v...)
			for _, a := range st.args {
				if a == "JOB" {
					a = job
				}
				args = append(args, a)
			}
			r := cesub(t, s.tb, e, args...)
			if st.args[0] == "submit" && r.code == 0 && !strings.Contains(strings.Join(st.args, " "), "dry-run") {
				job = strings.TrimSpace(r.out)
			}
			s.readDeviceToken(t) // --refresh wrote a new one
			s.checkNone(t, strings.Join(args, " "), r.out+r.err)
			if len(v) > 0 && v[0] == "--debug" && st.args[0] != "version" && st.args[0] != "describe" && !strings.Contains(r.err, "debug:") {
				t.Errorf("%v: no debug output; the check would prove nothing", args)
			}
		}
	}
}

// checkJobListFiles: the job list's files and the written token hold no
// secret and have mode 0600.
func (s *secretsRun) checkJobListFiles(t *testing.T) {
	t.Helper()
	for _, p := range []string{s.joblist, s.joblist + "-wal", s.joblist + "-shm"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s.checkNone(t, filepath.Base(p), string(b))
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(s.written); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token get --write: %v %v, want mode 0600", err, fi)
	}
	for _, p := range []string{s.deviceToken, s.refreshFile} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("token get --device: %s: %v %v, want mode 0600", p, err, fi)
		}
	}
}

// checkLooseFileWarnings: looser files than cesub makes are warned about.
func (s *secretsRun) checkLooseFileWarnings(t *testing.T) {
	t.Helper()
	_ = os.Chmod(s.proxy, 0o644)
	if r := cesub(t, s.tb, s.env, "ping", "-C", s.arex, "--auth", "x509"); !strings.Contains(r.err, "proxy "+s.proxy+" has mode 0644") {
		t.Errorf("a proxy readable by others: no warning: %s", r.err)
	}
	_ = os.Chmod(s.joblist, 0o644)
	if r := cesub(t, s.tb, s.env, "status", "-a"); !strings.Contains(r.err, "had mode 0644") {
		t.Errorf("a job list readable by others: no warning: %s", r.err)
	}
	loose := filepath.Join(s.dir, "loose-token")
	_ = os.WriteFile(loose, []byte(s.secrets["the A-REX token"]), 0o644)
	if r := cesub(t, s.tb, map[string]string{"BEARER_TOKEN_FILE": loose}, "token", "show"); !strings.Contains(r.err, "has mode 0644") {
		t.Errorf("a token file readable by others: no warning: %s", r.err)
	}
	// the refresh token: readable by others, or another user's, is refused (exit 4), not used
	_ = os.Chmod(s.refreshFile, 0o644)
	if r := cesub(t, s.tb, s.env, "token", "get", "--refresh"); r.code != 4 || !strings.Contains(r.err, "has mode 0644") || !strings.Contains(r.err, "refused") {
		t.Errorf("a refresh token readable by others: %d %s", r.code, r.err)
	}
	_ = os.Chmod(s.refreshFile, 0o600)
	if err := os.Chown(s.refreshFile, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if r := cesub(t, s.tb, s.env, "token", "get", "--refresh"); r.code != 4 || !strings.Contains(r.err, "belongs to uid 65534") {
		t.Errorf("another user's refresh token: %d %s", r.code, r.err)
	}
}
