package cmdutil

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestRedactHeader(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"sub":"x"}`)) + "." + enc([]byte("sig")) // shaped like a token, made here
	for in, want := range map[string]string{
		"Bearer " + jwt:      "Bearer [REDACTED]",
		jwt:                  "[REDACTED]",
		"Basic dXNlcjpwYXNz": "Basic [REDACTED]",
		"tok en":             "[REDACTED]", // not a scheme: keep nothing
		"":                   "[REDACTED]",
	} {
		got := redactHeader(in)
		if got != want || strings.Contains(got, jwt) {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

// Requests name cesub, whatever the library under it set, and the caller's
// request is left as it was.
func TestUserAgent(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.UserAgent() }))
	defer srv.Close()
	var lines []string
	f := &Factory{Version: "1.2.3", Debugf: func(format string, a ...any) { lines = append(lines, fmt.Sprintf(format, a...)) }}
	c := &http.Client{Transport: &debugTransport{next: http.DefaultTransport, f: f}}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("User-Agent", "go-resty/2.16.5")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(got, "cesub/1.2.3 (") {
		t.Fatalf("server saw User-Agent %q", got)
	}
	if req.Header.Get("User-Agent") != "go-resty/2.16.5" {
		t.Fatal("the caller's request was changed")
	}
	if !strings.Contains(strings.Join(lines, "\n"), "User-Agent: cesub/1.2.3") {
		t.Fatalf("debug lines do not show what was sent: %q", lines)
	}
}

// A hint is printed once per command, however many errors it explains.
func TestHintOncePerCommand(t *testing.T) {
	var errb strings.Builder
	f := &Factory{IO: &IOStreams{ErrOut: &errb}}
	refused := fmt.Errorf("status: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	for i := 0; i < 3; i++ {
		f.PrintError(refused)
	}
	f.PrintError(errors.New("job not found"))
	out := errb.String()
	if n := strings.Count(out, "cesub: hint: nothing listens"); n != 1 {
		t.Fatalf("hint printed %d times:\n%s", n, out)
	}
	if n := strings.Count(out, "cesub: status: dial tcp"); n != 3 {
		t.Fatalf("errors printed %d times, want 3:\n%s", n, out)
	}
}

func TestHTTPSOnlyRedirects(t *testing.T) {
	mk := func(s string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer x")
		return r
	}
	first := mk("https://ce.example.org:443/a")
	if err := httpsOnlyRedirects(mk("http://ce.example.org/a"), []*http.Request{first}); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Errorf("redirect to http: %v", err)
	}
	other := mk("https://ce.example.org:8443/a")
	if err := httpsOnlyRedirects(other, []*http.Request{first}); err != nil || other.Header.Get("Authorization") != "" {
		t.Errorf("redirect to another port: %v, Authorization %q", err, other.Header.Get("Authorization"))
	}
	same := mk("https://ce.example.org:443/b")
	if err := httpsOnlyRedirects(same, []*http.Request{first}); err != nil || same.Header.Get("Authorization") == "" {
		t.Errorf("same origin: %v, Authorization %q", err, same.Header.Get("Authorization"))
	}
}
