package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/ownfile"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/token"
)

type result struct {
	out, err string
	code     int
}

// run executes cesub with a controlled environment (no real $HOME config).
func run(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	return runIn(t, vars, "", args...)
}

// runIn is run with stdin.
func runIn(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	home := t.TempDir()
	if vars == nil {
		vars = map[string]string{}
	}
	if _, ok := vars["XDG_CONFIG_HOME"]; !ok {
		vars["XDG_CONFIG_HOME"] = filepath.Join(home, "cfg")
	}
	var out, errb bytes.Buffer
	f := &cmdutil.Factory{
		IO:      &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errb},
		Env:     token.Env{Getenv: func(k string) string { return vars[k] }, ReadFile: readNoOwner, EUID: 4242},
		Version: "test",
	}
	code := Run(context.Background(), f, args)
	return result{out.String(), errb.String(), code}
}

// readNoOwner reads like cesub does but hides the file's owner: run's
// process pretends to be uid 4242 (so that /tmp/bt_u<uid> is never a real
// user's), and the files the tests make belong to the real uid.
func readNoOwner(path string) ([]byte, fs.FileInfo, error) {
	b, fi, err := ownfile.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return b, noOwner{fi}, nil
}

type noOwner struct{ fs.FileInfo }

func (noOwner) Sys() any { return nil }

func mintKey(t *testing.T) *testissuer.Key {
	t.Helper()
	k, err := testissuer.GenerateKey("ec")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mint(t *testing.T, k *testissuer.Key, c testissuer.Claims) string {
	t.Helper()
	if c.Issuer == "" {
		c.Issuer = "https://iss.example"
	}
	if c.Subject == "" {
		c.Subject = "user1"
	}
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVersionJSON(t *testing.T) {
	r := run(t, nil, "version", "-o", "json")
	var v map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.out), &v) != nil || v["schema"] != "cesub.version/v1" || v["version"] != "test" {
		t.Fatalf("version -o json: %+v", r)
	}
}

// TestVersionFlag: `cesub --version` (the first command many CI smoke tests
// type) prints what `cesub version` does, exit 0; -v stays --verbose.
func TestVersionFlag(t *testing.T) {
	want := run(t, nil, "version")
	if want.code != 0 || !strings.HasPrefix(want.out, "cesub test (") {
		t.Fatalf("version: %+v", want)
	}
	if r := run(t, nil, "--version"); r.code != 0 || r.out != want.out {
		t.Errorf("--version: exit %d, stdout %q, stderr %q; want exit 0 and %q", r.code, r.out, r.err, want.out)
	}
	if r := run(t, nil, "-v", "version"); r.code != 0 || r.out != want.out {
		t.Errorf("-v version: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"--output", "yaml", "version"},
		{"token", "show", "--no-such-flag"},
		{"nosuchcommand"},
		{"token", "check", "--authtokens", "* * *", "--token", "a.b.c"},
		{"token", "get"},
		{"token", "get", "--oidc-agent", "a", "--client-credentials"},
		{"version", "extra"},
	} {
		if r := run(t, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, r.code, r.err)
		}
	}
}

func TestTokenShow(t *testing.T) {
	k := mintKey(t)
	tok := mint(t, k, testissuer.Claims{Audience: []string{"https://ce:443", "x"}, Scope: "compute.read", Groups: []string{"/vo"}, Lifetime: time.Hour})
	r := run(t, map[string]string{"BEARER_TOKEN": tok}, "token", "show")
	if r.code != 0 {
		t.Fatalf("token show: %+v", r)
	}
	for _, want := range []string{"source:", "BEARER_TOKEN", "iss:", "https://iss.example", "aud:", "[https://ce:443, x]", "compute.read", "/vo", "wlcg.ver:", "1.0", "left)"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("token show lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, tok) {
		t.Error("token show printed the raw token without --raw")
	}
	r = run(t, map[string]string{"BEARER_TOKEN": tok}, "token", "show", "-o", "json")
	var js map[string]any
	if err := json.Unmarshal([]byte(r.out), &js); err != nil || js["schema"] != "cesub.token.show/v1" || js["source"] != "BEARER_TOKEN" {
		t.Fatalf("json: %v %s", err, r.out)
	}
	if js["seconds_left"].(float64) < 3500 || js["claims"].(map[string]any)["sub"] != "user1" {
		t.Errorf("json content: %v", js)
	}
	if r = run(t, map[string]string{"BEARER_TOKEN": tok}, "token", "show", "--raw"); !strings.Contains(r.out, tok) {
		t.Error("--raw did not print the token")
	}
}

func TestTokenShowErrors(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "tok")
	k := mintKey(t)
	if err := os.WriteFile(loose, []byte(mint(t, k, testissuer.Claims{})+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		vars map[string]string
		args []string
		code int
		err  string
	}{
		{"nothing found", map[string]string{"XDG_RUNTIME_DIR": dir}, nil, 4, "no bearer token found"},
		{"not a JWT", map[string]string{"BEARER_TOKEN": "abc"}, nil, 4, "malformed JWT: 1 dot-separated parts"},
		{"invalid chars", map[string]string{"BEARER_TOKEN": "a;b"}, nil, 4, "BEARER_TOKEN: invalid character ';'"},
		{"missing --token-file", nil, []string{"--token-file", filepath.Join(dir, "none")}, 4, "cannot read token file"},
		{"loose permissions warn", map[string]string{"BEARER_TOKEN_FILE": loose}, nil, 0, "warning: token file " + loose + " has mode 0644"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.vars, append([]string{"token", "show"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.err, tt.err) {
				t.Fatalf("exit %d stderr %q, want %d %q", r.code, r.err, tt.code, tt.err)
			}
			if tt.code != 0 && strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
				t.Errorf("want one error line, got %q", r.err)
			}
		})
	}
}

func TestTokenCheckExitCodes(t *testing.T) {
	k := mintKey(t)
	good := mint(t, k, testissuer.Claims{Audience: []string{"https://ce.example.org:443"}, Scope: "compute.create compute.read compute.cancel compute.modify", Lifetime: time.Hour})
	expired := mint(t, k, testissuer.Claims{Audience: []string{"https://ce.example.org:443"}, Lifetime: -time.Minute})
	readOnly := mint(t, k, testissuer.Claims{Audience: []string{"ce.example.org:9619"}, Scope: "compute.read", Lifetime: time.Hour})
	tests := []struct {
		name string
		tok  string
		args []string
		code int
		want []string
	}{
		{"good ARC", good, []string{"--ce", "https://ce.example.org/arex"}, 0, []string{"ok   aud", "ok   scope:upload", "all checks passed"}},
		{"expired", expired, []string{"--ce", "ce.example.org"}, 4, []string{"FAIL exp", "expired", "pre-flight FAILED"}},
		{"HTCondor read-only", readOnly, []string{"--ce", "condor://ce.example.org:9619"}, 4, []string{"ok   scope:status", "FAIL scope:submit", "missing compute.create, compute.modify, compute.cancel"}},
		{"HTCondor wrong audience for ARC", readOnly, []string{"--ce", "https://ce.example.org:443/arex", "--op", "status"}, 4, []string{"FAIL aud", `seen "ce.example.org:9619"`}},
		{"authtokens rule", good, []string{"--authtokens", "* https://iss.example * * *"}, 0, []string{"matches"}},
		{"authtokens rule, trailing slash", good, []string{"--authtokens", "* https://iss.example/ * * *"}, 4, []string{"a trailing slash matters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, map[string]string{"BEARER_TOKEN": tt.tok}, append([]string{"token", "check"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tt.code, r.out, r.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.out, w) {
					t.Errorf("output lacks %q:\n%s", w, r.out)
				}
			}
		})
	}
	r := run(t, map[string]string{"BEARER_TOKEN": expired}, "token", "check", "-o", "json")
	var js struct {
		Schema string
		OK     bool
		Checks []token.Check
	}
	if err := json.Unmarshal([]byte(r.out), &js); err != nil || js.OK || js.Schema != "cesub.token.check/v1" || r.code != 4 {
		t.Fatalf("json: %v %+v code %d", err, js, r.code)
	}
}

// TestDebugNeverPrintsToken runs every command with --debug and checks that
// the token appears nowhere in stdout or stderr (except where printing it is
// the command's job: `token get` without --write and `token show --raw`).
func TestDebugNeverPrintsToken(t *testing.T) {
	k := mintKey(t)
	srv := &testissuer.Server{Key: k, Clients: []testissuer.Client{{ID: "c", Secret: "topsecret"}}}
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	srv.Issuer = ts.URL
	caDir := t.TempDir()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(caDir, "test.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(caDir, "secret")
	_ = os.WriteFile(secretFile, []byte("topsecret\n"), 0o600)
	tok := mint(t, k, testissuer.Claims{Audience: []string{"https://ce:443"}, Lifetime: time.Hour})
	conf := filepath.Join(caDir, "arc.conf")
	_ = os.WriteFile(conf, []byte("[authtokens]\n[authgroup:g]\nauthtokens = * * * * *\n[mapping]\nmap_to_user = g nobody\n"), 0o644)
	runDir := t.TempDir()
	vars := map[string]string{"BEARER_TOKEN": tok, "XDG_RUNTIME_DIR": runDir}
	cc := []string{"--client-credentials", "--issuer", ts.URL, "--client-id", "c", "--client-secret-file", secretFile, "--ca-dir", caDir}
	cmds := [][]string{
		{"version"},
		{"token", "show"},
		{"token", "show", "-o", "json"},
		{"token", "check", "--ce", "https://ce:443/arex", "--arc-conf", conf},
		{"token", "check", "-o", "json", "--authtokens", "* * * * *"},
		append([]string{"token", "get", "--write", "--write-path", filepath.Join(runDir, "w")}, cc...),
		append([]string{"token", "get", "--write", "-o", "json", "--write-path", filepath.Join(runDir, "w2")}, cc...),
		append([]string{"token", "get"}, cc...), // prints a (fresh) token on stdout by design
		{"token", "get", "--oidc-agent", "x", "--oidc-sock", filepath.Join(runDir, "nosock")},
		{"token", "check", "--token", tok},
	}
	for _, args := range cmds {
		r := run(t, vars, append([]string{"--debug"}, args...)...)
		if !strings.Contains(r.err, "debug:") && args[0] != "version" {
			t.Errorf("%v: no debug output at all; the test would prove nothing", args)
		}
		for _, line := range strings.Split(r.err, "\n") {
			// every debug line says how long the command has run: "debug:   0.012s ..."
			if rest, ok := strings.CutPrefix(line, "debug: "); ok {
				f := strings.Fields(rest)
				if len(f) < 2 || !strings.HasSuffix(f[0], "s") {
					t.Errorf("%v: debug line without a time stamp: %q", args, line)
				} else if d, err := time.ParseDuration(f[0]); err != nil || d < 0 || d > time.Minute {
					t.Errorf("%v: debug time stamp %q: %v", args, f[0], err)
				}
			}
		}
		if strings.Contains(r.err, tok) || strings.Contains(r.out, tok) {
			t.Errorf("%v: the token appears in the output", args)
		}
		if strings.Contains(r.err+r.out, "topsecret") {
			t.Errorf("%v: the client secret appears in the output", args)
		}
		fresh := strings.TrimSpace(r.out)
		if len(args) > 2 && args[1] == "get" && !contains(args, "--write") && r.code == 0 {
			if strings.Contains(r.err, fresh) {
				t.Errorf("%v: the fetched token leaked into stderr", args)
			}
			if strings.Count(fresh, ".") != 2 || strings.Contains(fresh, "[REDACTED]") {
				t.Errorf("%v: the token asked for is not printed whole: %q", args, fresh)
			}
		}
		for _, name := range []string{"w", "w2"} {
			if b, err := os.ReadFile(filepath.Join(runDir, name)); err == nil && strings.Contains(r.err+r.out, strings.TrimSpace(string(b))) {
				t.Errorf("%v: the written token appears in the output", args)
			}
		}
	}
	fi, err := os.Stat(filepath.Join(runDir, "w"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("--write file: %v %v", err, fi)
	}
}

func contains(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}

func TestHelpReadsWell(t *testing.T) {
	r := run(t, nil, "--help")
	for _, w := range []string{"token", "version", "completion", "Exit codes", "--output", "--timeout", "--ca-dir", "--insecure"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("cesub --help lacks %q", w)
		}
	}
	r = run(t, nil, "token", "--help")
	for _, w := range []string{"show", "get", "check", "BEARER_TOKEN_FILE"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("cesub token --help lacks %q", w)
		}
	}
	if r = run(t, nil, "completion", "bash"); r.code != 0 || !strings.Contains(r.out, "bash completion") {
		t.Errorf("completion bash: %d", r.code)
	}
	dir := t.TempDir()
	if r = run(t, nil, "docs", "man", dir); r.code != 0 {
		t.Fatalf("docs man: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "cesub-token-check.1")); err != nil {
		t.Errorf("man page missing: %v", err)
	}
}

// TestBadInputExitCodes: each bad input gives one clear line and a documented
// exit code, and nothing outlives --timeout. The broken servers here are fault
// injectors; the real issuer and agent are tested in integration/.
func TestBadInputExitCodes(t *testing.T) {
	k := mintKey(t)
	srv := &testissuer.Server{Key: k, Clients: []testissuer.Client{{ID: "c", Secret: "s", Scopes: []string{"compute.read"}}}}
	good := httptest.NewTLSServer(srv.Handler())
	defer good.Close()
	srv.Issuer = good.URL
	html := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><p>maintenance</p>"))
	}))
	defer html.Close()
	down := httptest.NewTLSServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	hang := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer hang.Close()

	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	_ = os.Mkdir(caDir, 0o755)
	for i, s := range []*httptest.Server{good, html, hang} {
		b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
		_ = os.WriteFile(filepath.Join(caDir, fmt.Sprintf("s%d.pem", i)), b, 0o644)
	}
	sock := filepath.Join(dir, "a.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cc := func(issuer, secret string, extra ...string) []string {
		return append([]string{"token", "get", "--client-credentials", "--issuer", issuer, "--client-id", "c", "--ca-dir", caDir, "--timeout", "1s"}, extra...)
	}
	vars := map[string]string{"CESUB_CLIENT_SECRET": "s"}
	tests := []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string
	}{
		{"agent hangs", nil, []string{"token", "get", "--oidc-agent", "a", "--oidc-sock", sock, "--timeout", "1s"}, 1, "timed out waiting for the agent"},
		{"agent socket missing", nil, []string{"token", "get", "--oidc-agent", "a", "--oidc-sock", filepath.Join(dir, "none")}, 1, "cannot connect"},
		{"no OIDC_SOCK", nil, []string{"token", "get", "--oidc-agent", "a"}, 1, "OIDC_SOCK is not set"},
		{"issuer down", vars, cc(downURL, "s"), 1, "connection refused"},
		{"issuer answers HTML", vars, cc(html.URL, "s"), 1, "did not return JSON (text/html)"},
		{"issuer hangs", vars, cc(hang.URL, "s"), 1, "did not answer in time (raise --timeout?)"},
		{"wrong secret", map[string]string{"CESUB_CLIENT_SECRET": "x"}, cc(good.URL, "x"), 4, "401 Unauthorized: invalid_client"},
		{"scope not granted", vars, cc(good.URL, "s", "--scope", "compute.create"), 4, "invalid_scope"},
		{"plain http issuer", vars, cc("http://localhost:1", "s"), 1, "only https issuers are allowed"},
		{"unknown CA", vars, []string{"token", "get", "--client-credentials", "--issuer", good.URL, "--client-id", "c", "--ca-dir", dir}, 1, "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			r := run(t, tt.vars, tt.args...)
			if r.code != tt.code || !strings.Contains(r.err, tt.want) {
				t.Fatalf("exit %d stderr %q; want %d and %q", r.code, r.err, tt.code, tt.want)
			}
			if n := strings.Count(strings.TrimSpace(r.err), "\n"); n != 0 {
				t.Errorf("want one line, got %d:\n%s", n+1, r.err)
			}
			if d := time.Since(t0); d > 4*time.Second {
				t.Errorf("took %s with --timeout 1s", d)
			}
		})
	}
	// --insecure works but warns
	r := run(t, vars, "token", "get", "--client-credentials", "--issuer", good.URL, "--client-id", "c", "--insecure")
	if r.code != 0 || !strings.Contains(r.err, "warning: --insecure") {
		t.Fatalf("--insecure: %d %q", r.code, r.err)
	}
}

// TestOneCommandTreeIsTheWholeTree: a run that names its command builds only
// that command; its help, flags and errors must be exactly the whole tree's.
func TestOneCommandTreeIsTheWholeTree(t *testing.T) {
	for _, b := range commands {
		for _, args := range [][]string{{b.name, "--help"}, {b.name, "--no-such-flag"}} {
			var outs [2]string
			for i, only := range []string{"", b.name} {
				var out bytes.Buffer
				f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out},
					Env: token.Env{Getenv: func(string) string { return "" }}, Version: "test"}
				root := newCmdRoot(f, only)
				root.SetArgs(args)
				root.SetOut(&out)
				root.SetErr(&out)
				err := root.Execute()
				outs[i] = fmt.Sprint(out.String(), err)
			}
			if outs[0] != outs[1] {
				t.Errorf("cesub %s: whole tree and one command differ:\n%s\n---\n%s", strings.Join(args, " "), outs[0], outs[1])
			}
		}
	}
	if got := commandNamed([]string{"status", "-a"}); got != "status" {
		t.Errorf("commandNamed(status -a) = %q", got)
	}
	for _, args := range [][]string{{}, {"-o", "json", "status"}, {"help", "status"}, {"__complete", "st"}, {"stauts"}, {"docs", "man", "x"}} {
		if got := commandNamed(args); got != "" {
			t.Errorf("commandNamed(%q) = %q, want the whole tree", args, got)
		}
	}
}

// TestConfigTypoWarned: `outptu: json` in the config file is warned about
// on stderr (file, line, the closest key) and the command still runs.
func TestConfigTypoWarned(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "cfg")
	if err := os.MkdirAll(filepath.Join(cfg, "cesub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "cesub", "config.yaml"), []byte("outptu: json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, map[string]string{"XDG_CONFIG_HOME": cfg}, "version")
	want := "warning: config file " + filepath.Join(cfg, "cesub", "config.yaml") + `:1: unknown key "outptu" is ignored (did you mean "output"?)`
	if r.code != 0 || !strings.Contains(r.err, want) || !strings.HasPrefix(r.out, "cesub test (") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, the text version and %q", r.code, r.out, r.err, want)
	}
}
