package cedar

import (
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// Command numbers (condor_commands.h).
const (
	CmdQueryScheddAds    = 6
	CmdSharedPortConnect = 75
	CmdActOnJobs         = 478
	CmdSpoolJobFilesPerm = 488
	CmdTransferDataPerm  = 489
	CmdQueryJobAds       = 516
	CmdQueryScheddHist   = 515 // QUERY_SCHEDD_HISTORY
	CmdQmgmtReadCmd      = 1111
	CmdQmgmtWriteCmd     = 1112
	CmdDCAuthenticate    = 60010
	CmdDCNopRead         = 60020
	CmdDCNopWrite        = 60021
	CmdDCSecQuery        = 60040
)

// Authentication method bits (CAUTH_*).
const (
	MethodSSL       = 256
	MethodSciTokens = 4096
)

var methodBits = map[string]int{"SSL": MethodSSL, "SCITOKENS": MethodSciTokens}

// MethodName names a method bit.
func MethodName(bit int) string {
	for n, b := range methodBits {
		if b == bit {
			return n
		}
	}
	return fmt.Sprintf("method %d", bit)
}

// Version is the CondorVersion string this client advertises.
const Version = "$CondorVersion: 23.9.6 2024-01-01 PackageID: cesub $"

// AuthConfig says how to authenticate.
type AuthConfig struct {
	// Methods in preference order: "SCITOKENS" (needs Token), "SSL" (needs a
	// client certificate in TLS).
	Methods []string
	Token   string
	// TLSFor gives the TLS configuration for the daemon's host name (trusted
	// roots, host check, the client certificate for SSL).
	TLSFor func(host string) *tls.Config
	Debugf func(string, ...any)
}

// AuthError is an authentication or authorization failure (exit 4).
type AuthError struct {
	// Stage is "authentication" (who you are was not accepted) or
	// "authorization" (you are known but not allowed this).
	Stage  string
	Method string
	User   string
	Msg    string
	// Declined: the daemon's negotiation answer declined authentication,
	// which cesub requires; no credential was presented.
	Declined bool
	// Err is the first method's failure (a TLS handshake's: an untrusted
	// or wrong certificate), for errors.As; nil when there was none.
	Err error
}

// Unwrap gives the first method's failure.
func (e *AuthError) Unwrap() error { return e.Err }

func (e *AuthError) Error() string {
	s := e.Stage + " failed"
	if e.Method != "" {
		s += " (" + e.Method + ")"
	}
	if e.User != "" {
		s += " for " + e.User
	}
	return s + ": " + e.Msg
}

// AuthFailure marks the error for exit code 4.
func (e *AuthError) AuthFailure() bool { return true }

// Session is the outcome of a successful handshake. A later connection to
// the same daemon can resume it (ResumeCommand) until it expires, without
// authenticating again.
type Session struct {
	User          string // the identity the daemon mapped us to
	Method        string // the authentication method used
	Crypto        string // the encryption method
	ReturnCode    string
	ValidCommands string
	PostAuth      *classad.Ad
	ID            string    // the daemon's name for the session (Sid)
	Expires       time.Time // when the daemon forgets it (SessionDuration)
	key           []byte    // the AES-GCM key: secret, never printed
}

// Resumable reports whether s can still be resumed: only a session whose
// handshake authenticated the daemon (Method) is.
func (s *Session) Resumable() bool {
	return s != nil && s.ID != "" && s.Method != "" && len(s.key) == 32 && time.Now().Before(s.Expires)
}

// ErrSessionRejected: the daemon does not know the session (restarted,
// or expired); a full handshake is needed.
var ErrSessionRejected = errors.New("the daemon does not know the session")

// ResumeCommand starts cmd on c with a session an earlier connection
// established (HTCondor's resume: DC_AUTHENTICATE with UseSession and a
// fresh nonce, the daemon's answer with its own, then AES-GCM with the
// session's key and a new IV; no authentication, no post-authentication
// answer). The daemon checks the command against the session's identity;
// a refusal closes the connection, seen at the command's first answer.
func (c *Conn) ResumeCommand(ctx context.Context, cmd int, target *Sinful, sess *Session) error {
	if !sess.Resumable() {
		return ErrSessionRejected
	}
	nonce := make([]byte, 33)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	ad := &classad.Ad{}
	ad.SetInt("Command", int64(cmd))
	if target != nil {
		ad.SetString("ConnectSinful", target.Raw)
	}
	ad.SetString("CryptoMethods", "AES")
	ad.SetString("Nonce", base64.StdEncoding.EncodeToString(nonce))
	ad.SetString("RemoteVersion", Version)
	ad.SetBool("ResumeResponse", true)
	ad.SetString("Sid", sess.ID)
	ad.SetString("UseSession", "YES")
	c.PutInt(CmdDCAuthenticate)
	c.PutAd(ad)
	if err := c.EndMessage(); err != nil {
		return err
	}
	resp, err := c.GetAd()
	if err != nil {
		return fmt.Errorf("resuming session %s with %s: %w", sess.ID, c.peer, err)
	}
	if err := c.FinishMessage(); err != nil {
		return err
	}
	switch rc, _ := resp.Str("ReturnCode"); rc {
	case "AUTHORIZED", "":
	case "SID_NOT_FOUND":
		return ErrSessionRejected
	default:
		return &AuthError{Stage: "authorization", Method: sess.Method, User: sess.User,
			Msg: fmt.Sprintf("%s answered %s to resuming session %s", c.peer, rc, sess.ID)}
	}
	if err := c.EnableAES(sess.key); err != nil {
		return err
	}
	c.authenticated() // the session's handshake authenticated the daemon (Resumable)
	return nil
}

// StartCommand runs HTCondor's DC_AUTHENTICATE exchange for cmd on c (after
// any shared-port connect): security negotiation with an ECDH key, the
// method handshake and authentication, AES-GCM from then on, and the
// post-authentication answer. For DC_SEC_QUERY, authCmd is the command
// whose authorization is asked about. Afterwards the command's payload
// follows on c.
func (c *Conn) StartCommand(ctx context.Context, cmd, authCmd int, target *Sinful, cfg AuthConfig) (*Session, error) {
	debugf := cfg.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	methods, err := usableMethods(cfg.Methods)
	if err != nil {
		return nil, err
	}
	srv, err := c.negotiate(negotiationAd(cmd, authCmd, target, methods, priv.PublicKey()), cmd)
	if err != nil {
		return nil, err
	}
	debugf("CEDAR %s: server policy %s", c.peer, oneLine(srv))
	if rc, ok := srv.Str("ReturnCode"); ok && rc != "" && rc != "AUTHORIZED" {
		return nil, &AuthError{Stage: "authorization", Msg: fmt.Sprintf("%s refused the security negotiation (%s)", c.peer, rc)}
	}
	if err := requireAuthentication(c.peer, srv); err != nil {
		return nil, err
	}
	sess := &Session{}
	started := time.Now()
	if crypto, _ := srv.Str("CryptoMethods"); crypto != "" {
		sess.Crypto = crypto
	}
	if sess.Method, err = c.authenticateNegotiated(ctx, srv, methods, target, cfg, debugf); err != nil {
		return nil, err
	}
	if sess.key, err = c.encrypt(srv, sess.Crypto, priv); err != nil {
		return nil, err
	}
	if err := c.readPostAuth(sess); err != nil {
		return nil, err
	}
	sess.Expires = started.Add(sessionLifetime(srv))
	debugf("CEDAR %s: authenticated as %s with %s, %s", c.peer, sess.User, sess.Method, sess.ReturnCode)
	if sess.ReturnCode != "AUTHORIZED" {
		return sess, &AuthError{Stage: "authorization", Method: sess.Method, User: sess.User,
			Msg: fmt.Sprintf("%s answered %s for command %d", c.peer, orDash(sess.ReturnCode), cmd)}
	}
	return sess, nil
}

// usableMethods are the configured authentication methods cesub speaks.
func usableMethods(configured []string) ([]string, error) {
	var methods []string
	for _, m := range configured {
		if _, ok := methodBits[m]; ok {
			methods = append(methods, m)
		}
	}
	if len(methods) == 0 {
		return nil, errors.New("no usable authentication method (SCITOKENS needs a token, SSL a certificate)")
	}
	return methods, nil
}

// negotiationAd is the client's security policy for cmd: authentication,
// encryption and integrity required, AES with an ECDH key, a new session.
func negotiationAd(cmd, authCmd int, target *Sinful, methods []string, pub *ecdh.PublicKey) *classad.Ad {
	ad := &classad.Ad{}
	if cmd == CmdDCSecQuery {
		ad.SetInt("AuthCommand", int64(authCmd))
	}
	ad.SetString("AuthMethods", strings.Join(methods, ","))
	ad.SetString("Authentication", "REQUIRED")
	ad.SetInt("Command", int64(cmd))
	if target != nil {
		ad.SetString("ConnectSinful", target.Raw)
	}
	ad.SetString("CryptoMethods", "AES")
	ad.SetString("ECDHPublicKey", base64.StdEncoding.EncodeToString(pub.Bytes()))
	ad.SetString("Enact", "NO")
	ad.SetString("Encryption", "REQUIRED")
	ad.SetString("Integrity", "REQUIRED")
	ad.SetBool("NegotiatedSession", true)
	ad.SetString("NewSession", "YES")
	ad.SetString("OutgoingNegotiation", "REQUIRED")
	ad.SetString("RemoteVersion", Version)
	ad.SetInt("ServerPid", int64(os.Getpid()))
	ad.SetString("SessionDuration", "60")
	ad.SetInt("SessionLease", 3600)
	ad.SetString("Subsystem", "TOOL")
	return ad
}

// negotiate sends DC_AUTHENTICATE with the client's policy and reads the
// server's.
func (c *Conn) negotiate(ad *classad.Ad, cmd int) (*classad.Ad, error) {
	c.PutInt(CmdDCAuthenticate)
	c.PutAd(ad)
	if err := c.EndMessage(); err != nil {
		return nil, err
	}
	srv, err := c.GetAd()
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil, fmt.Errorf("security negotiation with %s: %w (the daemon may not know command %d)", c.peer, err, cmd)
		}
		return nil, fmt.Errorf("security negotiation with %s: %w", c.peer, err)
	}
	if err := c.FinishMessage(); err != nil {
		return nil, err
	}
	return srv, nil
}

// encrypt turns on AES-GCM with the key both sides derive from their ECDH
// keys, and returns that key; a server that does not agree to encryption,
// or to AES, is refused.
//
// Encryption YES with AES is AES-GCM: every later message is encrypted
// and carries a tag, so it also gives the Integrity cesub requires, and
// cesub has no mode with integrity but no encryption (HTCondor's
// ReconcileSecurityPolicyAds, too, sets Integrity YES whenever it
// authenticates with AES, whatever the policies said).
func (c *Conn) encrypt(srv *classad.Ad, crypto string, priv *ecdh.PrivateKey) ([]byte, error) {
	if enc, _ := srv.Str("Encryption"); !strings.EqualFold(enc, "YES") {
		return nil, fmt.Errorf("%s did not agree to encryption; cesub requires it", c.peer)
	}
	if !strings.EqualFold(crypto, "AES") {
		return nil, fmt.Errorf("%s chose encryption %q; cesub speaks AES only", c.peer, crypto)
	}
	pubB64, _ := srv.Str("ECDHPublicKey")
	pubRaw, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil {
		return nil, protoErr("server ECDH key is not base64: %v", err)
	}
	pub, err := ecdh.P256().NewPublicKey(pubRaw)
	if err != nil {
		return nil, protoErr("server ECDH key: %v", err)
	}
	secret, err := priv.ECDH(pub)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Key(sha256.New, secret, []byte("htcondor"), "keygen", 32)
	if err != nil {
		return nil, err
	}
	if err := c.EnableAES(key); err != nil {
		return nil, err
	}
	c.authenticated()
	return key, nil
}

// readPostAuth reads the post-authentication answer into sess: the mapped
// user, the return code, the commands allowed and the session id.
func (c *Conn) readPostAuth(sess *Session) error {
	post, err := c.GetAd()
	if err != nil {
		return fmt.Errorf("reading the post-authentication answer from %s: %w", c.peer, err)
	}
	if err := c.FinishMessage(); err != nil {
		return err
	}
	sess.PostAuth = post
	sess.User, _ = post.Str("User")
	sess.ReturnCode, _ = post.Str("ReturnCode")
	sess.ValidCommands, _ = post.Str("ValidCommands")
	sess.ID, _ = post.Str("Sid")
	return nil
}

// sessionLifetime is how long cesub reuses the session: the daemon keeps it
// SessionDuration seconds (it may shorten what was asked), less a margin
// for the time a resumed command takes.
func sessionLifetime(srv *classad.Ad) time.Duration {
	dur := 60 * time.Second
	if v, ok := srv.Str("SessionDuration"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			dur = time.Duration(n) * time.Second
		}
	} else if n, ok := srv.Int("SessionDuration"); ok && n > 0 {
		dur = time.Duration(n) * time.Second
	}
	return dur - dur/6
}

// requireAuthentication refuses a negotiation answer that does not say
// Authentication = "YES". cesub asks for it REQUIRED, and a daemon whose
// policy cannot authenticate fails the negotiation (HTCondor's
// ReconcileSecurityPolicyAds: REQUIRED against NEVER fails, against
// anything else gives YES) and closes the connection. An answer of NO comes
// from a misconfigured daemon or from someone on the path (the negotiation
// is in clear): AES keyed by an ECDH exchange no one authenticated would
// hide jobs, files and proxies from everyone but that someone.
func requireAuthentication(peer string, srv *classad.Ad) error {
	a, _ := srv.Str("Authentication")
	if strings.EqualFold(a, "YES") {
		return nil
	}
	answer := "nothing" // a hostile peer's words: quoted, at most 16 bytes
	if a != "" {
		answer = strconv.Quote(a[:min(len(a), 16)])
	}
	return &AuthError{Stage: "authentication", Declined: true, Msg: fmt.Sprintf(
		"%s declined authentication (it answered Authentication = %s) although cesub requires it; "+
			"refusing: a misconfigured daemon, or someone on the path", peer, answer)}
}

// authenticateNegotiated runs the authentication the daemon's negotiation
// answer srv agreed to, with the methods both sides know, and reads the
// key exchange's flag (ECDH only); it returns the method used.
func (c *Conn) authenticateNegotiated(ctx context.Context, srv *classad.Ad, methods []string, target *Sinful, cfg AuthConfig, debugf func(string, ...any)) (string, error) {
	offered, _ := srv.Str("AuthMethodsList")
	if offered == "" {
		offered, _ = srv.Str("AuthMethods")
	}
	var common []string
	for _, m := range methods {
		for _, o := range strings.Split(offered, ",") {
			if strings.EqualFold(strings.TrimSpace(o), m) {
				common = append(common, m)
			}
		}
	}
	if len(common) == 0 {
		return "", &AuthError{Stage: "authentication", Msg: fmt.Sprintf("%s accepts %s; cesub offered %s", c.peer, offered, strings.Join(methods, ","))}
	}
	used, err := c.authenticate(ctx, common, target, cfg, debugf)
	if err != nil {
		return "", err
	}
	// exchangeKey: 0 when the key comes from ECDH
	hasKey, err := c.GetInt()
	if err != nil {
		return "", err
	}
	if err := c.FinishMessage(); err != nil {
		return "", err
	}
	if hasKey != 0 {
		return "", protoErr("%s sent a legacy session key; cesub needs ECDH (HTCondor 9 or later)", c.peer)
	}
	return used, nil
}

// authenticate runs the method handshake, trying methods in order.
func (c *Conn) authenticate(ctx context.Context, methods []string, target *Sinful, cfg AuthConfig, debugf func(string, ...any)) (string, error) {
	var failures []string
	var tried []string
	var first error
	for len(methods) > 0 {
		mask := 0
		for _, m := range methods {
			mask |= methodBits[m]
		}
		c.PutInt(int64(mask))
		if err := c.EndMessage(); err != nil {
			return "", err
		}
		chosen, err := c.GetInt32()
		if err != nil {
			return "", fmt.Errorf("authentication method handshake with %s: %w", c.peer, err)
		}
		if err := c.FinishMessage(); err != nil {
			return "", err
		}
		name := MethodName(chosen)
		if chosen == 0 || mask&chosen == 0 {
			break
		}
		debugf("CEDAR %s: authenticating with %s", c.peer, name)
		host := ""
		if target != nil {
			host = target.Alias
			if host == "" {
				host = target.Host
			}
		}
		if cfg.TLSFor == nil {
			return "", errors.New("no TLS configuration")
		}
		tcfg := cfg.TLSFor(host)
		if tcfg.MinVersion == 0 {
			tcfg.MinVersion = tls.VersionTLS12
		}
		tok := ""
		if chosen == MethodSciTokens {
			tok = cfg.Token
		}
		err = c.sslAuthenticate(ctx, tcfg, tok)
		if err == nil {
			return name, nil
		}
		var pe *ProtocolError
		if errors.As(err, &pe) || ctx.Err() != nil {
			return "", err
		}
		tried = append(tried, name)
		failures = append(failures, err.Error())
		if first == nil {
			first = err
		}
		var rest []string
		for _, m := range methods {
			if m != name {
				rest = append(rest, m)
			}
		}
		methods = rest
		if len(methods) == 0 {
			break
		}
	}
	msg := "no method succeeded"
	if len(failures) > 0 {
		msg = strings.Join(failures, "; ")
	}
	return "", &AuthError{Stage: "authentication", Method: strings.Join(tried, ","), Msg: msg, Err: first}
}

func oneLine(ad *classad.Ad) string {
	var parts []string
	for _, a := range ad.Attrs {
		if a.Name == "ECDHPublicKey" {
			continue
		}
		parts = append(parts, a.Name+"="+classad.Unparse(a.Expr))
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// SharedPortConnect asks condor_shared_port to hand the connection to the
// daemon whose endpoint id is sock; the transcript digests restart after it.
func (c *Conn) SharedPortConnect(sock, clientName string) error {
	c.PutInt(CmdSharedPortConnect)
	c.PutString(sock)
	c.PutString(clientName)
	c.PutInt(-1) // no deadline
	c.PutInt(0)  // no more arguments
	if err := c.EndMessage(); err != nil {
		return err
	}
	c.ResetDigests()
	return nil
}
