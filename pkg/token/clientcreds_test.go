package token

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testissuer"
)

func startIssuer(t *testing.T) (*testissuer.Server, *httptest.Server) {
	t.Helper()
	k, err := testissuer.GenerateKey("ec")
	if err != nil {
		t.Fatal(err)
	}
	srv := &testissuer.Server{Key: k, Clients: []testissuer.Client{{ID: "c1", Secret: "s1",
		Scopes: []string{"compute.read", "compute.create", "compute.cancel"}, Subject: "pilot", Groups: []string{"/vo"}}}}
	ts := httptest.NewTLSServer(srv.Handler())
	t.Cleanup(ts.Close)
	srv.Issuer = ts.URL
	return srv, ts
}

func TestClientCredentialsScopeAndAudience(t *testing.T) {
	srv, ts := startIssuer(t)
	cc := &ClientCredentials{Issuer: ts.URL + "/", ClientID: "c1", ClientSecret: "s1", HTTPClient: ts.Client(),
		Scopes: []string{"compute.read", "compute.create"}, Audiences: []string{"https://ce:443"}}
	is, err := cc.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	j, err := Decode(is.Token.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(j.Claims.Scopes(), " "); got != "compute.read compute.create" {
		t.Errorf("scope = %q", got)
	}
	if j.Claims.Audience.IsArray || j.Claims.Audience.Values[0] != "https://ce:443" || j.Claims.Subject != "pilot" {
		t.Errorf("aud/sub = %+v %q", j.Claims.Audience, j.Claims.Subject)
	}
	if is.Expiry.Before(time.Now()) || srv.TokenRequests() != 1 {
		t.Errorf("expiry %v, requests %d", is.Expiry, srv.TokenRequests())
	}
	// two audiences -> array
	cc.Audiences = []string{"a", "b"}
	is, _ = cc.Fetch(context.Background())
	j, _ = Decode(is.Token.Reveal())
	if !j.Claims.Audience.IsArray || len(j.Claims.Audience.Values) != 2 {
		t.Errorf("two audiences: %+v", j.Claims.Audience)
	}
}

func TestClientCredentialsErrors(t *testing.T) {
	_, ts := startIssuer(t)
	ctx := context.Background()
	html := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Login</body></html>"))
	}))
	defer html.Close()
	fivexx := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer fivexx.Close()
	hang := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer hang.Close()
	down := httptest.NewTLSServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	tests := []struct {
		name string
		cc   ClientCredentials
		want string
	}{
		{"wrong secret", ClientCredentials{Issuer: ts.URL, ClientID: "c1", ClientSecret: "bad"}, "401 Unauthorized: invalid_client"},
		{"scope not granted", ClientCredentials{Issuer: ts.URL, ClientID: "c1", ClientSecret: "s1", Scopes: []string{"storage.read:/"}}, "400 Bad Request: invalid_scope"},
		{"issuer answers HTML", ClientCredentials{Issuer: html.URL, ClientID: "c1", ClientSecret: "s1"}, "did not return JSON (text/html)"},
		{"issuer 5xx", ClientCredentials{Issuer: fivexx.URL, ClientID: "c1", ClientSecret: "s1"}, "502 Bad Gateway: upstream down"},
		{"issuer 404", ClientCredentials{Issuer: ts.URL + "/nope", ClientID: "c1", ClientSecret: "s1"}, "404 Not Found"},
		{"issuer down", ClientCredentials{Issuer: downURL, ClientID: "c1", ClientSecret: "s1"}, "connection refused"},
		{"plain http refused", ClientCredentials{Issuer: "http://localhost:1", ClientID: "c1", ClientSecret: "s1"}, "only https issuers"},
		{"no client id", ClientCredentials{Issuer: ts.URL}, "no client id"},
		{"issuer hangs", ClientCredentials{Issuer: hang.URL, ClientID: "c1", ClientSecret: "s1"}, "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			cc := tt.cc
			cc.HTTPClient = ts.Client()
			_, err := cc.Fetch(cctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestClientCredentialsRefusesUnsafeRedirects: an issuer whose discovery
// document or token endpoint redirects to plain http (or, for the token
// request, to another port) never receives the client secret there.
func TestClientCredentialsRefusesUnsafeRedirects(t *testing.T) {
	_, ts := startIssuer(t)
	var reached []string
	thief := func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		user, pass, _ := r.BasicAuth()
		reached = append(reached, r.Method+" "+r.URL.Path+" "+user+":"+pass+" "+r.Form.Get("client_secret"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"x","token_endpoint":"https://127.0.0.1:1/token","access_token":"a.b.c","token_type":"Bearer"}`))
	}
	plain := httptest.NewServer(http.HandlerFunc(thief))
	defer plain.Close()
	otherPort := httptest.NewTLSServer(http.HandlerFunc(thief))
	defer otherPort.Close()
	redirector := func(target string, code int) *httptest.Server {
		s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target, code)
		}))
		t.Cleanup(s.Close)
		return s
	}
	for _, tc := range []struct {
		name string
		cc   ClientCredentials
		want string
	}{
		{"discovery to http", ClientCredentials{Issuer: redirector(plain.URL+"/.well-known/openid-configuration", http.StatusFound).URL}, "plain http"},
		{"token endpoint 307 to http", ClientCredentials{TokenURL: redirector(plain.URL+"/token", http.StatusTemporaryRedirect).URL + "/token"}, "plain http"},
		{"token endpoint 308 to another port", ClientCredentials{TokenURL: redirector(otherPort.URL+"/token", http.StatusPermanentRedirect).URL + "/token"}, "host and port only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reached = nil
			cc := tc.cc
			cc.ClientID, cc.ClientSecret, cc.HTTPClient = "c1", "s1-secret", ts.Client()
			_, err := cc.Fetch(context.Background())
			var re *RedirectError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a RedirectError saying %q", err, tc.want)
			}
			if len(reached) != 0 {
				t.Fatalf("the redirect was followed: %q", reached)
			}
		})
	}
}
