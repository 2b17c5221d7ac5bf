// Package testissuer is cesub's own OAuth2/OIDC token issuer for tests and the
// local testbed. It serves an OpenID discovery document, a JWKS, and a token
// endpoint (client_credentials, refresh_token and RFC 8628 device_code grants,
// with a device authorization endpoint, refresh-token revocation and a
// test-only way to approve a pending login) that honours the
// requested scope and audience, and it mints WLCG-profile JWTs with arbitrary
// claims for negative tests. It is test infrastructure: never run it anywhere
// but on loopback.
package testissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
)

// Key is an issuer signing key with its JWKS key id.
type Key struct {
	Signer crypto.Signer
	KID    string
}

// GenerateKey makes a new signing key: "ec" (ES256, P-256) or "rsa" (RS256, 2048 bit).
func GenerateKey(kind string) (*Key, error) {
	var s crypto.Signer
	var err error
	switch kind {
	case "ec", "":
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		s, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("unknown key type %q (want ec or rsa)", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", kind, err)
	}
	return newKey(s)
}

func newKey(s crypto.Signer) (*Key, error) {
	der, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &Key{Signer: s, KID: hex.EncodeToString(sum[:8])}, nil
}

// WriteKeyFile stores the key as PKCS#8 PEM with mode 0600.
func (k *Key) WriteKeyFile(path string) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	return nil
}

// LoadKeyFile reads a PKCS#8 PEM key written by WriteKeyFile.
func LoadKeyFile(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key cannot sign", path)
	}
	return newKey(s)
}

// Alg is the JWS algorithm of the key.
func (k *Key) Alg() string {
	if _, ok := k.Signer.(*rsa.PrivateKey); ok {
		return "RS256"
	}
	return "ES256"
}

// JWK is the public key in JWKS form.
func (k *Key) JWK() map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := k.Signer.Public().(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.KID,
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		pad := func(i *big.Int) []byte { b := make([]byte, 32); i.FillBytes(b); return b }
		return map[string]string{"kty": "EC", "use": "sig", "alg": "ES256", "kid": k.KID, "crv": "P-256",
			"x": b64(pad(pub.X)), "y": b64(pad(pub.Y))}
	}
	return nil
}

// Sign makes a compact JWS of claims with the given header overrides.
func (k *Key) Sign(claims map[string]any, kid string) (string, error) {
	if kid == "" {
		kid = k.KID
	}
	hdr := map[string]string{"alg": k.Alg(), "typ": "JWT", "kid": kid}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal claims: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	switch s := k.Signer.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, s, crypto.SHA256, sum[:])
	case *ecdsa.PrivateKey:
		var r, ss *big.Int
		r, ss, err = ecdsa.Sign(rand.Reader, s, sum[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			ss.FillBytes(sig[32:])
		}
	default:
		err = errors.New("unsupported key")
	}
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// Claims describes a token to mint. Zero values take WLCG-profile defaults.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string // one element -> string claim, several -> array, none -> the WLCG "any" audience
	Scope     string
	Groups    []string
	Lifetime  time.Duration
	NotBefore time.Duration // offset of nbf from now (negative backdates)
	NoExp     bool
	ClientID  string
	// ScopeArray renders scope as a JSON array (how ARC 7.0 with tokenscopes=wlcg wants it).
	ScopeArray bool
	Version    string           // wlcg.ver; "-" omits it
	KID        string           // header kid override (for unknown-kid tests)
	Extra      map[string]any   // any further claims, overriding the above; nil values delete
	Now        func() time.Time // clock, for tests
	JTI        func() string    // jti generator, for tests
}

// AnyAudience is the WLCG "any relying party" audience.
const AnyAudience = "https://wlcg.cern.ch/jwt/v1/any"

// Mint signs a token with claims c.
func (k *Key) Mint(c Claims) (string, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now().Unix()
	life := c.Lifetime
	if life == 0 {
		life = 20 * time.Minute
	}
	m := map[string]any{
		"iss": c.Issuer,
		"sub": c.Subject,
		"iat": t,
		"nbf": t + int64(c.NotBefore/time.Second),
		"jti": randomID(),
	}
	if c.JTI != nil {
		m["jti"] = c.JTI()
	}
	if !c.NoExp {
		m["exp"] = t + int64(life/time.Second)
	}
	switch len(c.Audience) {
	case 0:
		m["aud"] = AnyAudience
	case 1:
		m["aud"] = c.Audience[0]
	default:
		m["aud"] = c.Audience
	}
	if c.Scope != "" {
		if c.ScopeArray {
			m["scope"] = strings.Fields(c.Scope)
		} else {
			m["scope"] = c.Scope
		}
	}
	if len(c.Groups) > 0 {
		m["wlcg.groups"] = c.Groups
	}
	switch c.Version {
	case "":
		m["wlcg.ver"] = "1.0"
	case "-":
	default:
		m["wlcg.ver"] = c.Version
	}
	if c.ClientID != "" {
		m["client_id"] = c.ClientID
	}
	for name, v := range c.Extra {
		if v == nil {
			delete(m, name)
			continue
		}
		m[name] = v
	}
	return k.Sign(m, c.KID)
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// refreshToken is the payload of a stateless refresh token.
type refreshToken struct {
	ClientID string   `json:"cid"`
	Subject  string   `json:"sub"`
	Scope    string   `json:"scope"`
	Groups   []string `json:"groups,omitempty"`
	Expires  int64    `json:"exp"`
}

// MintRefreshToken makes an HMAC-protected refresh token bound to clientID that
// grants scope. Its characters are URL-safe (oidc-agent sends form bodies unencoded).
func (k *Key) MintRefreshToken(clientID, subject, scope string, groups []string, life time.Duration) (string, error) {
	p, err := json.Marshal(refreshToken{ClientID: clientID, Subject: subject, Scope: scope, Groups: groups,
		Expires: time.Now().Add(life).Unix()})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	body := enc.EncodeToString(p)
	return "rt1." + body + "." + enc.EncodeToString(k.mac(body)), nil
}

func (k *Key) mac(body string) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k.Signer)
	h := hmac.New(sha256.New, der)
	h.Write([]byte("cesub-testissuer-rt\x00" + body))
	return h.Sum(nil)
}

func (k *Key) parseRefreshToken(s string) (*refreshToken, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != "rt1" {
		return nil, errors.New("malformed refresh token")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, k.mac(parts[1])) {
		return nil, errors.New("refresh token signature invalid")
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("malformed refresh token")
	}
	var rt refreshToken
	if err := json.Unmarshal(p, &rt); err != nil {
		return nil, errors.New("malformed refresh token")
	}
	if time.Now().Unix() > rt.Expires {
		return nil, errors.New("refresh token expired")
	}
	return &rt, nil
}
