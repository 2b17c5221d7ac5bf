package token

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeAgentFault serves one canned behaviour on a UNIX socket. It is a fault
// injector, not a stand-in for oidc-agent: the real agent is exercised by the
// integration tests.
func fakeAgentFault(t *testing.T, handle func(req map[string]any, c net.Conn)) (string, chan map[string]any) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan map[string]any, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 65536)
				n, _ := c.Read(buf) // the client must send the request in one write
				var req map[string]any
				_ = json.Unmarshal(buf[:n], &req)
				got <- req
				handle(req, c)
			}()
		}
	}()
	return sock, got
}

func TestAgentAccessTokenRequestAndReply(t *testing.T) {
	tok := jwtOf(`{"exp":1900000000,"scope":"compute.read"}`)
	sock, reqs := fakeAgentFault(t, func(_ map[string]any, c net.Conn) {
		_, _ = io.WriteString(c, `{"status":"success","access_token":"`+tok+`","issuer":"https://i/","expires_at":1}`)
	})
	ac := &AgentClient{Socket: sock}
	is, err := ac.AccessToken(context.Background(), AgentRequest{Account: "wlcg", MinValid: 90 * time.Second,
		Scopes: []string{"compute.read", "compute.create"}, Audiences: []string{"https://ce:443"}, ApplicationHint: "cesub"})
	if err != nil {
		t.Fatal(err)
	}
	req := <-reqs
	want := map[string]any{"request": "access_token", "account": "wlcg", "min_valid_period": float64(90),
		"scope": "compute.read compute.create", "audience": "https://ce:443", "application_hint": "cesub"}
	for k, v := range want {
		if req[k] != v {
			t.Errorf("request[%s] = %v, want %v", k, req[k], v)
		}
	}
	if _, ok := req["issuer"]; ok {
		t.Error("issuer sent together with account")
	}
	if is.Token.Reveal() != tok || is.Expiry.Unix() != 1900000000 {
		t.Errorf("token/expiry from JWT exp (not the agent's expires_at): %v", is.Expiry)
	}
}

func TestAgentFaults(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(map[string]any, net.Conn)
		want    string
		timeout time.Duration
	}{
		{"error with info", func(_ map[string]any, c net.Conn) {
			_, _ = io.WriteString(c, `{"status":"failure","error":"invalid_grant: revoked","info":"Most likely the refresh token expired.\n\t$ oidc-gen x --reauthenticate\n"}`)
		}, "oidc-agent: invalid_grant: revoked\nMost likely the refresh token expired.", time.Second},
		{"garbage", func(_ map[string]any, c net.Conn) { _, _ = io.WriteString(c, "HTTP/1.0 400 nope\r\n\r\n") },
			"is not JSON (is it an oidc-agent socket?)", time.Second},
		{"closes without reply", func(map[string]any, net.Conn) {}, "closed the connection without a reply", time.Second},
		{"hangs", func(_ map[string]any, c net.Conn) { time.Sleep(3 * time.Second) }, "timed out waiting for the agent", 200 * time.Millisecond},
		{"success without token", func(_ map[string]any, c net.Conn) { _, _ = io.WriteString(c, `{"status":"success"}`) },
			"success reply without an access_token", time.Second},
		{"token with invalid characters", func(_ map[string]any, c net.Conn) {
			_, _ = io.WriteString(c, `{"status":"success","access_token":"a b"}`)
		}, "invalid character", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock, _ := fakeAgentFault(t, tt.handle)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			t0 := time.Now()
			_, err := (&AgentClient{Socket: sock}).AccessToken(ctx, AgentRequest{Account: "a"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if time.Since(t0) > tt.timeout+time.Second {
				t.Errorf("took %s, past the deadline", time.Since(t0))
			}
		})
	}
}

func TestAgentSocketProblems(t *testing.T) {
	ctx := context.Background()
	if _, err := (&AgentClient{}).AccessToken(ctx, AgentRequest{Account: "a"}); err == nil || !strings.Contains(err.Error(), "OIDC_SOCK is not set") {
		t.Errorf("no socket: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := (&AgentClient{Socket: missing}).AccessToken(ctx, AgentRequest{Account: "a"}); err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Errorf("missing socket: %v", err)
	}
	// a stale socket file with no listener: connection refused
	dir, _ := os.MkdirTemp("", "st")
	defer os.RemoveAll(dir)
	stale := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, err = (&AgentClient{Socket: stale}).AccessToken(ctx, AgentRequest{Account: "a"})
	if err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Errorf("refused socket: %v", err)
	}
	if _, err := (&AgentClient{Socket: stale}).AccessToken(ctx, AgentRequest{Account: "a", Issuer: "b"}); err == nil {
		t.Error("account and issuer together accepted")
	}
}

func TestCachingSourceRefreshes(t *testing.T) {
	now := time.Unix(1700000000, 0)
	calls := 0
	c := &Caching{Now: func() time.Time { return now }, Fetch: func(context.Context, time.Duration) (*Issued, error) {
		calls++
		return &Issued{Token: Token("t"), Expiry: now.Add(10 * time.Minute)}, nil
	}}
	for _, mv := range []time.Duration{time.Minute, 5 * time.Minute, 9 * time.Minute} {
		if _, err := c.Token(context.Background(), mv); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("fetched %d times, want 1 (cached token still valid long enough)", calls)
	}
	if _, err := c.Token(context.Background(), 11*time.Minute); err != nil || calls != 2 {
		t.Fatalf("a longer min-valid must refetch: calls=%d err=%v", calls, err)
	}
	st := &Static{Found: &Found{Token: Token(jwtOf(`{"exp":1700000060}`)), Source: "BEARER_TOKEN"}, Now: func() time.Time { return now }}
	if _, err := st.Token(context.Background(), 5*time.Minute); !errors.Is(err, ErrCannotRefresh) {
		t.Fatalf("static source near expiry: %v", err)
	}
	if st.CanRefresh() || !c.CanRefresh() {
		t.Error("CanRefresh wrong")
	}
}
