package arcrest

// Security regressions against a FAKE A-REX (httptest): answers a real
// A-REX never gives (redirects, hostile job ids).

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/token"
)

const secretBearer = "not-a-jwt-but-a-secret-bearer-value"

// fakeAREXToken is fakeAREX with a bearer token on every request.
func fakeAREXToken(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/arex/rest" {
			_, _ = io.WriteString(w, `{"version":["1.0"]}`)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	src := &token.Static{Found: &token.Found{Token: token.Token(secretBearer), Source: "test"}}
	c, err := NewClient(ce.Config{Address: ce.Address{Flavour: ce.ARC, Host: host, Port: p, Path: "/arex"},
		HTTPClient: srv.Client(), Timeout: 2 * time.Second, Token: src})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRedirectNeverCarriesToken: a CE answering with a redirect — to plain
// http, or to another port of the same host — gets an error naming both
// URLs; the target never sees a request, so never the token, and ping does
// not report the credential admitted.
func TestRedirectNeverCarriesToken(t *testing.T) {
	var stolen atomic.Int32
	thief := func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		if strings.Contains(r.Header.Get("Authorization"), secretBearer) {
			t.Errorf("the bearer token reached %s", r.Host)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"job":[{"status-code":"200","reason":"OK","id":"cesub-ping","state":"FINISHED"}]}`)
	}
	plain := httptest.NewServer(http.HandlerFunc(thief))
	defer plain.Close()
	otherPort := httptest.NewTLSServer(http.HandlerFunc(thief))
	defer otherPort.Close()
	for _, tc := range []struct {
		name, target string
		code         int
	}{
		{"http, 307", plain.URL + "/arex/rest/1.0/jobs", http.StatusTemporaryRedirect},
		{"http, 302", plain.URL + "/x", http.StatusFound},
		{"https on another port, 308", otherPort.URL + "/arex/rest/1.0/jobs", http.StatusPermanentRedirect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeAREXToken(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tc.target, tc.code)
			})
			ctx := context.Background()
			_, err := c.Status(ctx, []string{"x"})
			var re *arexhttp.RedirectError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.target) || !strings.Contains(err.Error(), c.endpoint) {
				t.Fatalf("status after a redirect: %v (want an error naming %s and the CE's URL)", err, tc.target)
			}
			pr, err := c.Ping(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if pr.Admitted || !strings.Contains(pr.Problem, "redirected") {
				t.Fatalf("ping after a redirect: admitted=%v problem=%q", pr.Admitted, pr.Problem)
			}
			if n := stolen.Load(); n != 0 {
				t.Fatalf("%d requests followed the redirect", n)
			}
		})
	}
}
