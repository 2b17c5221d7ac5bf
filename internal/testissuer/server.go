package testissuer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Client is an OAuth2 client registered at the issuer.
type Client struct {
	ID     string
	Secret string
	// Subject is the sub of client_credentials tokens (default "client:<ID>").
	Subject string
	// Scopes the client may request; empty allows any scope.
	Scopes []string
	// Groups put in wlcg.groups of every token the client gets.
	Groups []string
	// Lifetime of this client's access tokens (0: the server's).
	Lifetime time.Duration
}

// Server is the issuer's HTTP handler.
type Server struct {
	Issuer     string // iss claim and base URL, no trailing slash
	Key        *Key
	Clients    []Client
	Lifetime   time.Duration // access token lifetime (default 20m)
	DefaultAud []string      // audience when none is requested (default: WLCG any)
	Logger     *log.Logger   // nil: no request log
	// DeviceInterval is the polling interval device logins are given (default 5s).
	DeviceInterval time.Duration
	// DeviceExpiry is how long a device code stays valid (default 10m).
	DeviceExpiry time.Duration
	// RefreshLifetime of the refresh tokens device logins get (default 30 days).
	RefreshLifetime time.Duration
	// AdminSecret enables the test-only POST /admin/device (approve, deny,
	// expire a pending login), for requests bearing it; empty: no such route.
	AdminSecret string
	// OnDeviceAuthorization, when set, is told each new login's user code
	// (in-process tests play the user with SetDeviceState).
	OnDeviceAuthorization func(userCode string)

	tokenRequests atomic.Int64
	devices       deviceTable
}

// DefaultScopes is what scopes_supported lists; oidc-agent requires the list.
var DefaultScopes = []string{"openid", "offline_access", "compute.create", "compute.read", "compute.modify",
	"compute.cancel", "storage.read:/", "storage.modify:/", "storage.create:/", "wlcg", "wlcg.groups"}

// TokenRequests counts requests to the token endpoint.
func (s *Server) TokenRequests() int64 { return s.tokenRequests.Load() }

// Handler returns the issuer's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /device_authorization", s.deviceAuthorization)
	mux.HandleFunc("GET /device", s.verificationPage)
	mux.HandleFunc("POST /revoke", s.revoke)
	if s.AdminSecret != "" {
		mux.HandleFunc("POST /admin/device", s.adminDevice)
	}
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"token_requests": s.TokenRequests()})
	})
	return mux
}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{
		"issuer":                                s.Issuer,
		"jwks_uri":                              s.Issuer + "/jwks",
		"token_endpoint":                        s.Issuer + "/token",
		"device_authorization_endpoint":         s.Issuer + "/device_authorization",
		"revocation_endpoint":                   s.Issuer + "/revoke",
		"grant_types_supported":                 []string{"client_credentials", "refresh_token", GrantDeviceCode},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{s.Key.Alg()},
		"scopes_supported":                      DefaultScopes,
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "jti", "scope", "wlcg.ver", "wlcg.groups"},
	})
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{"keys": []any{s.Key.JWK()}})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.tokenRequests.Add(1)
	if err := r.ParseForm(); err != nil {
		s.oauthError(w, r, 400, "invalid_request", "cannot parse form")
		return
	}
	grant := r.PostForm.Get("grant_type")
	cl := s.authenticate(r)
	if grant == GrantDeviceCode || grant == "refresh_token" {
		cl = s.authenticateAny(r) // public clients too
	}
	if cl == nil {
		s.oauthError(w, r, 401, "invalid_client", "client authentication failed")
		return
	}
	g := grantResult{grant: grant, aud: strings.Fields(r.PostForm.Get("audience"))}
	switch grant {
	case "client_credentials":
		g.sub, g.granted, g.groups = clientSubject(cl), strings.Join(cl.Scopes, " "), cl.Groups
	case "refresh_token":
		rt, err := s.Key.parseRefreshToken(r.PostForm.Get("refresh_token"))
		if err == nil && s.isRevoked(r.PostForm.Get("refresh_token")) {
			err = errors.New("refresh token was revoked")
		}
		if err != nil {
			s.oauthError(w, r, 400, "invalid_grant", err.Error())
			return
		}
		if rt.ClientID != cl.ID {
			s.oauthError(w, r, 400, "invalid_grant", "refresh token was issued to another client")
			return
		}
		g.sub, g.granted, g.groups = rt.Subject, rt.Scope, rt.Groups
	case GrantDeviceCode:
		dl, kind, desc := s.devicePoll(r.PostForm.Get("device_code"), cl)
		if dl == nil {
			s.oauthError(w, r, 400, kind, desc)
			return
		}
		g.sub, g.granted, g.groups, g.device = clientSubject(cl), dl.scope, cl.Groups, true
		if len(g.aud) == 0 {
			g.aud = dl.audience
		}
	default:
		s.oauthError(w, r, 400, "unsupported_grant_type", fmt.Sprintf("grant_type %q not supported", grant))
		return
	}
	s.issue(w, r, cl, g)
}

// grantResult is what a grant established: whom a token is for, what it
// may hold, and (for a device login) that a refresh token goes with it.
type grantResult struct {
	grant, sub, granted string
	groups, aud         []string
	device              bool
}

func clientSubject(cl *Client) string {
	if cl.Subject != "" {
		return cl.Subject
	}
	return "client:" + cl.ID
}

// issue answers the token request: the requested scope (within what was
// granted) and audience.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, cl *Client, g grantResult) {
	scope := strings.Join(strings.Fields(r.PostForm.Get("scope")), " ")
	if scope == "" || g.device {
		scope = g.granted
	} else if g.granted != "" {
		have := strings.Fields(g.granted)
		for _, sc := range strings.Fields(scope) {
			if !slices.Contains(have, sc) {
				s.oauthError(w, r, 400, "invalid_scope", fmt.Sprintf("scope '%s' was not granted to this client", sc))
				return
			}
		}
	}
	// oidc-agent always adds these two to the account scope; they are not access-token scopes.
	var atScope []string
	for _, sc := range strings.Fields(scope) {
		if sc != "openid" && sc != "offline_access" {
			atScope = append(atScope, sc)
		}
	}
	aud := g.aud
	if len(aud) == 0 {
		aud = s.DefaultAud
	}
	life := s.Lifetime
	if cl.Lifetime > 0 {
		life = cl.Lifetime
	}
	if life == 0 {
		life = 20 * time.Minute
	}
	tok, err := s.Key.Mint(Claims{Issuer: s.Issuer, Subject: g.sub, Audience: aud, Scope: strings.Join(atScope, " "),
		Groups: g.groups, Lifetime: life, ClientID: cl.ID})
	if err != nil {
		s.oauthError(w, r, 500, "server_error", err.Error())
		return
	}
	answer := map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int64(life / time.Second), "scope": strings.Join(atScope, " ")}
	if g.device && slices.Contains(strings.Fields(scope), "offline_access") {
		rl := s.RefreshLifetime
		if rl == 0 {
			rl = 30 * 24 * time.Hour
		}
		rt, err := s.Key.MintRefreshToken(cl.ID, g.sub, scope, g.groups, rl)
		if err != nil {
			s.oauthError(w, r, 500, "server_error", err.Error())
			return
		}
		answer["refresh_token"] = rt
	}
	s.logf("POST /token grant=%s client=%s scope=%q audience=%q -> 200", g.grant, cl.ID, scope, strings.Join(aud, " "))
	writeJSON(w, 200, answer)
}

func (s *Server) authenticate(r *http.Request) *Client {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	for i := range s.Clients { // a public client (no secret) cannot use client_credentials
		if s.Clients[i].ID == id && s.Clients[i].Secret == secret && id != "" && secret != "" {
			return &s.Clients[i]
		}
	}
	return nil
}

func (s *Server) oauthError(w http.ResponseWriter, r *http.Request, code int, kind, desc string) {
	s.logf("%s %s -> %d %s: %s", r.Method, r.URL.Path, code, kind, desc)
	// oidc-agent pastes error_description into JSON unescaped: keep it free of quotes.
	desc = strings.NewReplacer(`"`, "'", `\`, "/").Replace(desc)
	writeJSON(w, code, map[string]string{"error": kind, "error_description": desc})
}

func (s *Server) logf(format string, args ...any) {
	if s.Logger != nil {
		s.Logger.Printf(format, args...)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
