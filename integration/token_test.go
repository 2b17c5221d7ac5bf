package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cesub/cesub/pkg/x509proxy"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/cli"
	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/ownfile"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/token"
)

type result struct {
	out, err string
	code     int
}

// cesub runs the CLI in-process with the testbed's environment plus extra.
func cesub(t *testing.T, tb *testbed.Env, extra map[string]string, args ...string) result {
	t.Helper()
	vars := map[string]string{"XDG_CONFIG_HOME": t.TempDir(), "X509_CERT_DIR": tb.Vars["X509_CERT_DIR"],
		"OIDC_SOCK": tb.Vars["OIDC_SOCK"]}
	for k, v := range extra {
		vars[k] = v
	}
	var out, errb bytes.Buffer
	f := &cmdutil.Factory{
		IO:      &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb},
		Env:     token.Env{Getenv: func(k string) string { return vars[k] }, ReadFile: ownfile.ReadFile, EUID: os.Geteuid()},
		Version: "integration",
	}
	code := cli.Run(context.Background(), f, args)
	return result{out.String(), errb.String(), code}
}

func decode(t *testing.T, raw string) *token.JWT {
	t.Helper()
	j, err := token.Decode(strings.TrimSpace(raw))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return j
}

func assertScopeAud(t *testing.T, j *token.JWT, scope, aud string) {
	t.Helper()
	if got := strings.Join(j.Claims.Scopes(), " "); got != scope {
		t.Errorf("scope = %q, want %q", got, scope)
	}
	if len(j.Claims.Audience.Values) != 1 || j.Claims.Audience.Values[0] != aud {
		t.Errorf("aud = %v, want %q", j.Claims.Audience.Values, aud)
	}
}

func TestClientCredentialsFromProjectIssuer(t *testing.T) {
	tb := testbed.Require(t)
	r := cesub(t, tb, nil, "token", "get", "--client-credentials", "--issuer", tb.Get(t, "CESUB_TESTBED_ISSUER"),
		"--client-id", tb.Get(t, "CESUB_TESTBED_CLIENT_ID"), "--client-secret-file", tb.Get(t, "CESUB_TESTBED_CLIENT_SECRET_FILE"),
		"--scope", "compute.read", "--scope", "compute.create", "--audience", "https://localhost:8444", "-o", "json")
	if r.code != 0 {
		t.Fatalf("token get: %d %s", r.code, r.err)
	}
	var js struct{ Token, Source string }
	if err := json.Unmarshal([]byte(r.out), &js); err != nil {
		t.Fatal(err)
	}
	assertScopeAud(t, decode(t, js.Token), "compute.read compute.create", "https://localhost:8444")
	// the secret may also come from the environment
	secret, _ := os.ReadFile(tb.Get(t, "CESUB_TESTBED_CLIENT_SECRET_FILE"))
	r = cesub(t, tb, map[string]string{"CESUB_CLIENT_SECRET": strings.TrimSpace(string(secret))}, "token", "get", "--client-credentials",
		"--issuer", tb.Get(t, "CESUB_TESTBED_ISSUER"), "--client-id", tb.Get(t, "CESUB_TESTBED_CLIENT_ID"), "--scope", "compute.cancel",
		"--audience", "localhost:9619")
	if r.code != 0 {
		t.Fatalf("token get with CESUB_CLIENT_SECRET: %d %s", r.code, r.err)
	}
	assertScopeAud(t, decode(t, r.out), "compute.cancel", "localhost:9619")
	// a wrong secret is an authentication failure
	r = cesub(t, tb, map[string]string{"CESUB_CLIENT_SECRET": "wrong"}, "token", "get", "--client-credentials",
		"--issuer", tb.Get(t, "CESUB_TESTBED_ISSUER"), "--client-id", tb.Get(t, "CESUB_TESTBED_CLIENT_ID"))
	if r.code != 4 || !strings.Contains(r.err, "invalid_client") {
		t.Errorf("wrong secret: %d %q", r.code, r.err)
	}
}

func TestOIDCAgentToken(t *testing.T) {
	tb := testbed.Require(t)
	acct := tb.Get(t, "CESUB_TESTBED_OIDC_ACCOUNT")
	r := cesub(t, tb, nil, "token", "get", "--oidc-agent", acct, "--scope", "compute.create compute.read",
		"--audience", "https://localhost:8444", "--min-valid", "1m")
	if r.code != 0 {
		t.Fatalf("token get --oidc-agent: %d %s", r.code, r.err)
	}
	assertScopeAud(t, decode(t, r.out), "compute.create compute.read", "https://localhost:8444")
	// by issuer URL (the agent stores issuers with a trailing slash)
	r = cesub(t, tb, nil, "token", "get", "--oidc-issuer", tb.Get(t, "CESUB_TESTBED_ISSUER")+"/", "--scope", "compute.read",
		"--audience", "localhost:9619")
	if r.code != 0 {
		t.Fatalf("token get --oidc-issuer: %d %s", r.code, r.err)
	}
	assertScopeAud(t, decode(t, r.out), "compute.read", "localhost:9619")
	// the agent's own errors reach the user
	r = cesub(t, tb, nil, "token", "get", "--oidc-agent", "no-such-account")
	if r.code != 4 || !strings.Contains(r.err, "oidc-agent: account not loaded") {
		t.Errorf("unknown account: %d %q", r.code, r.err)
	}
	r = cesub(t, tb, nil, "token", "get", "--oidc-agent", acct, "--scope", "storage.modify:/")
	if r.code != 4 || !strings.Contains(r.err, "invalid_scope") {
		t.Errorf("scope not granted: %d %q", r.code, r.err)
	}
}

func TestWriteThenShowThroughDiscovery(t *testing.T) {
	tb := testbed.Require(t)
	rundir := t.TempDir()
	env := map[string]string{"XDG_RUNTIME_DIR": rundir}
	r := cesub(t, tb, env, "token", "get", "--oidc-agent", tb.Get(t, "CESUB_TESTBED_OIDC_ACCOUNT"), "--scope", "compute.read",
		"--audience", "https://localhost:8444", "--write")
	if r.code != 0 || r.out != "" {
		t.Fatalf("token get --write: %d out=%q err=%q", r.code, r.out, r.err)
	}
	path := filepath.Join(rundir, "bt_u"+strconv.Itoa(os.Geteuid()))
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, err, fi)
	}
	written, _ := os.ReadFile(path)
	r = cesub(t, tb, env, "token", "show", "-o", "json")
	if r.code != 0 {
		t.Fatalf("token show: %d %s", r.code, r.err)
	}
	var js struct {
		Source string
		Claims map[string]any
	}
	if err := json.Unmarshal([]byte(r.out), &js); err != nil {
		t.Fatal(err)
	}
	want := decode(t, string(written))
	if !strings.HasPrefix(js.Source, "$XDG_RUNTIME_DIR/bt_u") || js.Claims["jti"] != want.RawClaims["jti"] || js.Claims["scope"] != "compute.read" {
		t.Errorf("token show found %q %v, want the written token", js.Source, js.Claims)
	}
	// BEARER_TOKEN_FILE is honoured by --write too, and beats XDG_RUNTIME_DIR in discovery
	btf := filepath.Join(rundir, "custom")
	env["BEARER_TOKEN_FILE"] = btf
	if r = cesub(t, tb, env, "token", "get", "--oidc-agent", tb.Get(t, "CESUB_TESTBED_OIDC_ACCOUNT"), "--write"); r.code != 0 {
		t.Fatal(r.err)
	}
	if r = cesub(t, tb, env, "token", "show"); !strings.Contains(r.out, "BEARER_TOKEN_FILE ("+btf+")") {
		t.Errorf("show after BEARER_TOKEN_FILE write: %s", r.out)
	}
}

// TestCheckPredictsAREX mints tokens with the testbed issuer's key, asks
// `cesub token check --arc-conf` for a verdict, then asks the real A-REX.
func TestCheckPredictsAREX(t *testing.T) {
	tb := testbed.Require(t)
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	iss := tb.Get(t, "CESUB_TESTBED_ISSUER")
	ceAud := "https://localhost:8444"
	full := "compute.create compute.read compute.modify compute.cancel"
	base := testissuer.Claims{Issuer: iss, Subject: "cesub-test-user", Audience: []string{ceAud}, Scope: full,
		Groups: []string{"/wlcg/pilots"}, Lifetime: time.Hour, NotBefore: -time.Minute}
	with := func(mod func(*testissuer.Claims)) testissuer.Claims { c := base; mod(&c); return c }
	cases := []struct {
		name     string
		claims   testissuer.Claims
		admitted bool
	}{
		{"valid", base, true},
		{"wrong aud", with(func(c *testissuer.Claims) { c.Audience = []string{"https://other.example:443"} }), false},
		{"aud array with the CE second", with(func(c *testissuer.Claims) { c.Audience = []string{"https://other.example", ceAud} }), false},
		{"aud array with the CE first", with(func(c *testissuer.Claims) { c.Audience = []string{ceAud, "https://other.example"} }), true},
		{"expired", with(func(c *testissuer.Claims) { c.Lifetime = -time.Minute; c.NotBefore = -2 * time.Hour }), false},
		{"nbf in the future", with(func(c *testissuer.Claims) { c.NotBefore = 10 * time.Minute }), false},
		{"other group", with(func(c *testissuer.Claims) { c.Groups = []string{"/wlcg/users"} }), false},
		{"issuer with trailing slash", with(func(c *testissuer.Claims) { c.Issuer = iss + "/" }), false},
		{"no compute scope (A-REX 6 does not enforce scopes)", with(func(c *testissuer.Claims) { c.Scope = "storage.read:/" }), true},
	}
	pool, _, err := x509proxy.CertPool(tb.Get(t, "X509_CERT_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	// One connection per request: A-REX 6.17 binds the identity of the first
	// token on a TLS connection to the whole keep-alive connection and ignores
	// the Authorization header of later requests on it.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		DisableKeepAlives: true}}
	jobs := tb.Get(t, "CESUB_TESTBED_AREX_URL") + "/rest/1.0/jobs"
	dir := t.TempDir()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := key.Mint(tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			tf := filepath.Join(dir, fmt.Sprintf("tok%d", i))
			if err := os.WriteFile(tf, []byte(tok), 0o600); err != nil {
				t.Fatal(err)
			}
			r := cesub(t, tb, nil, "token", "check", "--arc-conf", tb.Get(t, "CESUB_TESTBED_AREX_CONF"), "--token-file", tf)
			if r.code != 0 && r.code != 4 {
				t.Fatalf("token check exit %d: %s", r.code, r.err)
			}
			predicted := r.code == 0
			code := getWithToken(t, hc, jobs, tok)
			server := code == http.StatusOK
			if predicted != server {
				t.Errorf("cesub predicts admitted=%v, A-REX answered %d\n%s", predicted, code, r.out)
			}
			if server != tc.admitted {
				t.Errorf("A-REX answered %d; the case expects admitted=%v", code, tc.admitted)
			}
			if !predicted && !strings.Contains(r.out, "FAIL") {
				t.Errorf("a refusal must name the failing check:\n%s", r.out)
			}
		})
	}
}

// TestDebugAgainstRealServers: --debug on the commands that talk to the real
// issuer and agent never prints the token.
func TestDebugAgainstRealServers(t *testing.T) {
	tb := testbed.Require(t)
	rundir := t.TempDir()
	env := map[string]string{"XDG_RUNTIME_DIR": rundir}
	cmds := [][]string{
		{"--debug", "token", "get", "--oidc-agent", tb.Get(t, "CESUB_TESTBED_OIDC_ACCOUNT"), "--scope", "compute.read",
			"--audience", "https://localhost:8444", "--write"},
		{"--debug", "token", "get", "--client-credentials", "--issuer", tb.Get(t, "CESUB_TESTBED_ISSUER"), "--client-id",
			tb.Get(t, "CESUB_TESTBED_CLIENT_ID"), "--client-secret-file", tb.Get(t, "CESUB_TESTBED_CLIENT_SECRET_FILE"),
			"--audience", "https://localhost:8444", "--write"},
		{"--debug", "token", "show"},
		{"--debug", "token", "check", "--arc-conf", tb.Get(t, "CESUB_TESTBED_AREX_CONF"), "--ce", tb.Get(t, "CESUB_TESTBED_AREX_URL"),
			"--op", "status"},
	}
	for _, args := range cmds {
		r := cesub(t, tb, env, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d %s", args, r.code, r.err)
		}
		tok, err := os.ReadFile(filepath.Join(rundir, "bt_u"+strconv.Itoa(os.Geteuid())))
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(string(tok)); strings.Contains(r.out+r.err, s) {
			t.Errorf("%v printed the token", args)
		}
		if !strings.Contains(r.err, "debug:") {
			t.Errorf("%v: no debug output", args)
		}
	}
}

// TestAREXBindsTokenToConnection pins the A-REX 6.17 behaviour the REST
// client must work around: on a keep-alive connection only the first token
// counts, so a client whose token changes must open a new connection.
func TestAREXBindsTokenToConnection(t *testing.T) {
	tb := testbed.Require(t)
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	c := testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: "cesub-test-user", Audience: []string{"https://localhost:8444"},
		Groups: []string{"/wlcg/pilots"}, Lifetime: time.Hour}
	good, _ := key.Mint(c)
	c.Audience = []string{"https://wrong.example"}
	bad, _ := key.Mint(c)
	pool, _, _ := x509proxy.CertPool(tb.Get(t, "X509_CERT_DIR"))
	jobs := tb.Get(t, "CESUB_TESTBED_AREX_URL") + "/rest/1.0/jobs"
	status := func(hc *http.Client, tok string) int { return getWithToken(t, hc, jobs, tok) }
	keep := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxConnsPerHost: 1}}
	first, second := status(keep, good), status(keep, bad)
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	alone := status(fresh, bad)
	if first != 200 || alone != 403 {
		t.Fatalf("baseline: good %d, bad alone %d", first, alone)
	}
	if second != 200 {
		t.Logf("A-REX no longer binds the token to the connection (bad token after good on one connection: %d)", second)
	}
}

// getWithToken GETs url as A-REX wants it (JSON) with a bearer token and returns the status.
func getWithToken(t *testing.T, hc *http.Client, url, tok string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) { // A-REX 6.17 now and then fails a TLS accept ("wrong version number"); once more
		t.Logf("retrying after %v", err)
		resp, err = hc.Do(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
