package token

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/ownfile"
	"github.com/cesub/cesub/internal/testissuer"
)

// startDeviceIssuer is the project's issuer with a public device client
// whose tokens live 2 minutes, polled every second.
func startDeviceIssuer(t *testing.T) (*testissuer.Server, *httptest.Server) {
	t.Helper()
	k, err := testissuer.GenerateKey("ec")
	if err != nil {
		t.Fatal(err)
	}
	srv := &testissuer.Server{Key: k, DeviceInterval: time.Second, Clients: []testissuer.Client{
		{ID: "laptop", Lifetime: 2 * time.Minute}, {ID: "conf", Secret: "s3"}}}
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(ts.Close)
	srv.Issuer = ts.URL
	return srv, ts
}

// login runs a device login whose prompt hands the user code to act, which
// plays the user.
func login(t *testing.T, ts *httptest.Server, id string, act func(code string)) (*Login, []string, error) {
	t.Helper()
	var mu sync.Mutex
	var notices []string
	d := &DeviceLogin{Issuer: ts.URL, ClientID: id, Scopes: []string{"offline_access", "compute.read"},
		Audiences: []string{"https://ce:443"}, HTTPClient: ts.Client(),
		Prompt: func(p DevicePrompt) {
			if p.VerificationURI != ts.URL+"/device" || !strings.HasSuffix(p.VerificationURIComplete, p.UserCode) || p.Interval != time.Second {
				t.Errorf("prompt %+v", p)
			}
			go act(p.UserCode)
		},
		Notice: func(s string) { mu.Lock(); notices = append(notices, s); mu.Unlock() }}
	if id == "conf" {
		d.ClientSecret = "s3"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := d.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	return l, notices, err
}

func set(t *testing.T, srv *testissuer.Server, state string) func(string) {
	return func(code string) {
		if ok, err := srv.SetDeviceState(code, state); !ok || err != nil {
			t.Errorf("set %s: %v %v", state, ok, err)
		}
	}
}

// TestDeviceLoginThenRenewal: an approved login gives an access token for
// the audience and a refresh token; stored, the token written where
// discovery finds it is renewed by LoginSource when too little is left, and
// a revoked refresh token is removed with a message saying to log in again.
func TestDeviceLoginThenRenewal(t *testing.T) {
	srv, ts := startDeviceIssuer(t)
	l, _, err := login(t, ts, "laptop", set(t, srv, testissuer.DeviceApproved))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := Decode(l.Issued.Token.Reveal())
	if l.Refresh == "" || j.Claims.Audience.Values[0] != "https://ce:443" || time.Until(l.Issued.Expiry) > 2*time.Minute {
		t.Fatalf("login: refresh %v, aud %v, expiry %v", l.Refresh != "", j.Claims.Audience, l.Issued.Expiry)
	}
	dir := t.TempDir()
	env := Env{Getenv: func(k string) string { return map[string]string{"XDG_CONFIG_HOME": dir, "XDG_RUNTIME_DIR": dir}[k] },
		ReadFile: ownfile.ReadFile, EUID: os.Geteuid()}
	store, _ := NewLoginStore(env)
	path := WritePath(env)
	st := &LoginState{Issuer: ts.URL, TokenURL: l.TokenURL, ClientID: "laptop", Scopes: []string{"offline_access", "compute.read"},
		Audiences: []string{"https://ce:443"}, TokenFile: path, TokenSHA256: tokenHash(l.Issued.Token)}
	if err := WriteFile(path, l.Issued.Token); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(st, l.Refresh); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{RefreshTokenFile, LoginStateFile} {
		if fi, err := os.Stat(filepath.Join(dir, "cesub", name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", name, err, fi)
		}
	}
	found, err := Discover(env)
	if err != nil {
		t.Fatal(err)
	}
	if st2, _ := store.State(); !st2.Wrote(found.Path, found.Token) {
		t.Fatal("the stored login does not recognise the token it wrote")
	}
	src := &LoginSource{Found: found, Refresher: &LoginRefresher{Store: store, Env: env, HTTPClient: ts.Client()}}
	if is, err := src.Token(context.Background(), time.Minute); err != nil || is.Token != found.Token {
		t.Fatalf("a token valid long enough is used as found: %v", err)
	}
	is, err := src.Token(context.Background(), 5*time.Minute) // more than the token lives: renew
	if err != nil || is.Token == found.Token {
		t.Fatalf("renewal: %v", err)
	}
	if again, _ := Discover(env); again.Token != is.Token {
		t.Error("the renewed token was not written where discovery finds it")
	}
	srv.RevokeRefreshToken(l.Refresh.Reveal())
	_, err = src.Token(context.Background(), 5*time.Minute)
	var rej *RefreshRejectedError
	if !errors.As(err, &rej) || !IsRefusal(err) || !strings.Contains(err.Error(), "log in again with `cesub token get --device`") {
		t.Fatalf("revoked refresh token: %v", err)
	}
	if _, err := store.RefreshToken(); !errors.Is(err, ErrNoLogin) {
		t.Errorf("the rejected refresh token was not removed: %v", err)
	}
}

// TestDeviceLoginRefusals: access_denied is a refusal (exit 4), an expired
// code is not (it is simply tried again); each says what happened.
func TestDeviceLoginRefusals(t *testing.T) {
	srv, ts := startDeviceIssuer(t)
	_, _, err := login(t, ts, "conf", set(t, srv, testissuer.DeviceDenied))
	var de *DeviceError
	if !errors.As(err, &de) || de.Code != "access_denied" || !IsRefusal(err) || !strings.Contains(err.Error(), "denied") {
		t.Errorf("denied: %v", err)
	}
	_, _, err = login(t, ts, "laptop", set(t, srv, testissuer.DeviceExpired))
	if !errors.As(err, &de) || de.Code != "expired_token" || IsRefusal(err) || !strings.Contains(err.Error(), "run `cesub token get --device` again") {
		t.Errorf("expired: %v", err)
	}
}

// TestDeviceLoginSlowDown: after slow_down the next poll comes 5 s later
// than the interval and the user is told.
func TestDeviceLoginSlowDown(t *testing.T) {
	srv, ts := startDeviceIssuer(t)
	var polls []time.Time
	l, notices, err := login(t, ts, "laptop", func(code string) {
		_, _ = srv.SetDeviceState(code, testissuer.DeviceSlowDown)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if polls = srv.DevicePolls(code); len(polls) >= 2 {
				break
			}
		}
		_, _ = srv.SetDeviceState(code, testissuer.DeviceApproved)
	})
	if err != nil || l == nil {
		t.Fatal(err)
	}
	if len(polls) < 2 || polls[1].Sub(polls[0]) < 6*time.Second {
		t.Errorf("polls after slow_down: %v", polls)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "slow_down") || !strings.Contains(notices[0], "every 6s") {
		t.Errorf("notices %q", notices)
	}
}

// TestLoginFilesMustBePrivate: a refresh token or login state readable by
// others, or (as root) owned by another user, is refused.
func TestLoginFilesMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	store := LoginStore{Dir: dir, EUID: os.Geteuid()}
	if err := store.Save(&LoginState{Issuer: "https://i"}, "rt-secret"); err != nil {
		t.Fatal(err)
	}
	rt := filepath.Join(dir, RefreshTokenFile)
	if got, err := store.RefreshToken(); err != nil || got.Reveal() != "rt-secret" {
		t.Fatalf("own 0600 file: %v", err)
	}
	_ = os.Chmod(rt, 0o640)
	var lf *LoginFileError
	if _, err := store.RefreshToken(); !errors.As(err, &lf) || !strings.Contains(err.Error(), "mode 0640") || !IsRefusal(err) {
		t.Errorf("a 0640 refresh token: %v", err)
	}
	_ = os.Chmod(rt, 0o600)
	if os.Geteuid() != 0 {
		t.Skip("the owner check needs root (chown)")
	}
	if err := os.Chown(rt, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := store.RefreshToken(); !errors.As(err, &lf) || !strings.Contains(err.Error(), "belongs to uid 65534") {
		t.Errorf("another user's refresh token: %v", err)
	}
}

// hostileDeviceIssuer serves a discovery document and a device
// authorization endpoint answering body (none when body is "").
func hostileDeviceIssuer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	var ts *httptest.Server
	ts = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			md := `{"issuer":"` + ts.URL + `","token_endpoint":"` + ts.URL + `/token"`
			if body != "" {
				md += `,"device_authorization_endpoint":"` + ts.URL + `/device_authorization"`
			}
			_, _ = w.Write([]byte(md + "}"))
		default:
			_, _ = w.Write([]byte(body))
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

// TestDeviceLoginHostileIssuer: an issuer without a device endpoint is
// named; a device authorization answer over the issuer limits, or with
// control characters in the code or URL, is refused before any prompt.
func TestDeviceLoginHostileIssuer(t *testing.T) {
	huge := `{"device_code":"d","user_code":"` + strings.Repeat("A", 2<<20) + `","verification_uri":"https://x/"}`
	for body, want := range map[string]string{
		"":   "offers no device login",
		huge: "limit",
		`{"device_code":"d","user_code":"AB\u001b[2J","verification_uri":"https://x/"}`: "control characters",
		`{"device_code":"d","user_code":"AB"}`:                                          "lacks device_code, user_code or verification_uri",
	} {
		ts := hostileDeviceIssuer(t, body)
		d := &DeviceLogin{Issuer: ts.URL, ClientID: "c", HTTPClient: ts.Client(),
			Prompt: func(DevicePrompt) { t.Errorf("%s: prompted", want) }}
		if _, err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q: %v", want, err)
		}
	}
}
