package testissuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// GrantDeviceCode is the RFC 8628 grant type of the device access token request.
const GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// Device login states; the admin endpoint moves a pending login to one of
// the others (and "slow_down" answers the next poll with slow_down).
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceExpired  = "expired"
	DeviceSlowDown = "slow_down"
)

// deviceLogin is one pending device authorization (RFC 8628 section 3.2).
type deviceLogin struct {
	client   *Client
	userCode string
	scope    string
	audience []string
	expires  time.Time
	interval time.Duration
	lastPoll time.Time
	state    string
	slowDown bool // the next poll answers slow_down
	polls    []time.Time
}

// deviceTable holds the pending logins and the revoked refresh tokens.
type deviceTable struct {
	mu      sync.Mutex
	byCode  map[string]*deviceLogin // by device code
	byUser  map[string]string       // user code -> device code
	revoked map[string]bool         // sha256 of revoked refresh tokens
}

// userCodeAlphabet has no vowels and no look-alike characters (RFC 8628 section 6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i == 4 {
			sb.WriteByte('-')
		}
		sb.WriteByte(userCodeAlphabet[int(c)%len(userCodeAlphabet)])
	}
	return sb.String()
}

func (s *Server) deviceInterval() time.Duration {
	if s.DeviceInterval > 0 {
		return s.DeviceInterval
	}
	return 5 * time.Second
}

func (s *Server) deviceExpiry() time.Duration {
	if s.DeviceExpiry > 0 {
		return s.DeviceExpiry
	}
	return 10 * time.Minute
}

// deviceAuthorization is the device authorization endpoint: it registers a
// login and answers its device code, user code and where to enter it.
func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	cl := s.formClient(w, r)
	if cl == nil {
		return
	}
	scope := strings.Join(strings.Fields(r.PostForm.Get("scope")), " ")
	for _, sc := range strings.Fields(scope) {
		if len(cl.Scopes) > 0 && !slices.Contains(cl.Scopes, sc) {
			s.oauthError(w, r, 400, "invalid_scope", fmt.Sprintf("scope '%s' was not granted to this client", sc))
			return
		}
	}
	dl := &deviceLogin{client: cl, userCode: newUserCode(), scope: scope, audience: strings.Fields(r.PostForm.Get("audience")),
		expires: time.Now().Add(s.deviceExpiry()), interval: s.deviceInterval(), state: DevicePending}
	code := randomID() + randomID()
	s.devices.mu.Lock()
	if s.devices.byCode == nil {
		s.devices.byCode, s.devices.byUser = map[string]*deviceLogin{}, map[string]string{}
	}
	s.devices.byCode[code], s.devices.byUser[dl.userCode] = dl, code
	s.devices.mu.Unlock()
	s.logf("POST /device_authorization client=%s scope=%q -> 200 user_code=%s", cl.ID, scope, dl.userCode)
	if s.OnDeviceAuthorization != nil {
		s.OnDeviceAuthorization(dl.userCode)
	}
	writeJSON(w, 200, map[string]any{"device_code": code, "user_code": dl.userCode,
		"verification_uri": s.Issuer + "/device", "verification_uri_complete": s.Issuer + "/device?user_code=" + dl.userCode,
		"expires_in": int64(s.deviceExpiry() / time.Second), "interval": int64(dl.interval / time.Second)})
}

// devicePoll answers a device access token request: an error code while the
// login is not approved, else the approved login (removed from the table).
func (s *Server) devicePoll(code string, cl *Client) (*deviceLogin, string, string) {
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	dl := s.devices.byCode[code]
	if dl == nil || dl.client.ID != cl.ID {
		return nil, "invalid_grant", "unknown device code"
	}
	now := time.Now()
	dl.polls = append(dl.polls, now)
	early := !dl.lastPoll.IsZero() && now.Sub(dl.lastPoll) < dl.interval*4/5
	dl.lastPoll = now
	done := func() { delete(s.devices.byCode, code); delete(s.devices.byUser, dl.userCode) }
	switch {
	case dl.state == DeviceExpired || now.After(dl.expires):
		done()
		return nil, "expired_token", "the device code expired; start a new login"
	case dl.state == DeviceDenied:
		done()
		return nil, "access_denied", "the user denied the login"
	case dl.slowDown || early:
		dl.slowDown = false
		dl.interval += 5 * time.Second
		return nil, "slow_down", fmt.Sprintf("poll at most every %s", dl.interval)
	case dl.state == DeviceApproved:
		done()
		return dl, "", ""
	}
	return nil, "authorization_pending", "the user has not approved the login yet"
}

// DevicePolls returns when the login of userCode was polled (for tests).
func (s *Server) DevicePolls(userCode string) []time.Time {
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	if dl := s.devices.byCode[s.devices.byUser[userCode]]; dl != nil {
		return slices.Clone(dl.polls)
	}
	return nil
}

// SetDeviceState moves the pending login of userCode to state (approved,
// denied, expired, or slow_down for the next poll); false: no such login.
func (s *Server) SetDeviceState(userCode, state string) (bool, error) {
	switch state {
	case DeviceApproved, DeviceDenied, DeviceExpired, DeviceSlowDown:
	default:
		return false, fmt.Errorf("unknown state %q (want approved, denied, expired or slow_down)", state)
	}
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	dl := s.devices.byCode[s.devices.byUser[strings.ToUpper(strings.TrimSpace(userCode))]]
	if dl == nil {
		return false, nil
	}
	if state == DeviceSlowDown {
		dl.slowDown = true
	} else {
		dl.state = state
	}
	return true, nil
}

// adminDevice is the test-only endpoint approving, denying or expiring a
// pending login: POST user_code and state with "Authorization: Bearer
// <AdminSecret>". Without an AdminSecret the route does not exist.
func (s *Server) adminDevice(w http.ResponseWriter, r *http.Request) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.AdminSecret)) != 1 {
		s.oauthError(w, r, 401, "invalid_client", "admin secret required")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.oauthError(w, r, 400, "invalid_request", "cannot parse form")
		return
	}
	uc, state := r.PostForm.Get("user_code"), r.PostForm.Get("state")
	found, err := s.SetDeviceState(uc, state)
	switch {
	case err != nil:
		s.oauthError(w, r, 400, "invalid_request", err.Error())
	case !found:
		s.oauthError(w, r, 404, "invalid_request", "no pending login with user code "+uc)
	default:
		s.logf("POST /admin/device user_code=%s state=%s -> 200", uc, state)
		writeJSON(w, 200, map[string]string{"user_code": uc, "state": state})
	}
}

// verificationPage is what a browser at verification_uri sees.
func (s *Server) verificationPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "cesub test issuer: login %s is approved by the tests through POST /admin/device.\n",
		strings.Join(strings.Fields(r.URL.Query().Get("user_code")), ""))
}

// revoke is the RFC 7009 revocation endpoint for refresh tokens: the
// token is refused from now on; unknown tokens are no error.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	cl := s.formClient(w, r)
	if cl == nil {
		return
	}
	s.RevokeRefreshToken(r.PostForm.Get("token"))
	s.logf("POST /revoke client=%s -> 200", cl.ID)
	w.WriteHeader(200)
}

// RevokeRefreshToken makes the issuer refuse rt from now on.
func (s *Server) RevokeRefreshToken(rt string) {
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	if s.devices.revoked == nil {
		s.devices.revoked = map[string]bool{}
	}
	s.devices.revoked[rtHash(rt)] = true
}

func (s *Server) isRevoked(rt string) bool {
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	return s.devices.revoked[rtHash(rt)]
}

func rtHash(rt string) string {
	sum := sha256.Sum256([]byte(rt))
	return hex.EncodeToString(sum[:])
}

// authenticateAny authenticates a confidential client by its secret and a
// public client (no secret) by its id: the device and refresh grants
// accept both; client_credentials only confidential ones.
// formClient parses the request's form and authenticates its client
// (public clients too); on failure it has answered the OAuth error and
// returns nil.
func (s *Server) formClient(w http.ResponseWriter, r *http.Request) *Client {
	if err := r.ParseForm(); err != nil {
		s.oauthError(w, r, 400, "invalid_request", "cannot parse form")
		return nil
	}
	cl := s.authenticateAny(r)
	if cl == nil {
		s.oauthError(w, r, 401, "invalid_client", "client authentication failed")
	}
	return cl
}

func (s *Server) authenticateAny(r *http.Request) *Client {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	for i := range s.Clients {
		c := &s.Clients[i]
		if c.ID == id && id != "" && (c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) == 1) {
			return c
		}
	}
	return nil
}

// SetDeviceStateAt asks the issuer at issuer (its admin endpoint, with the
// admin secret) to move the pending login of userCode to state: how the
// tests and `cesub-testissuer device` play the user at the browser.
func SetDeviceStateAt(ctx context.Context, hc *http.Client, issuer, secret, userCode, state string) error {
	form := url.Values{"user_code": {userCode}, "state": {state}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(issuer, "/")+"/admin/device",
		strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("admin request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin request: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("set login %s to %s: %s: %s", userCode, state, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
