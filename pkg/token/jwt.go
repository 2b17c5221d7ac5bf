// Package token owns everything about WLCG bearer tokens on the client side:
// WLCG Bearer Token Discovery, the oidc-agent socket client, the OAuth2
// client-credentials grant, unverified JWT decoding for inspection, pre-flight
// checks of a token against what a CE needs, and A-REX `authtokens` rule
// matching. It never prints or logs a token: Token's String form is redacted.
package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrMalformed marks a token that is not a decodable JWT.
var ErrMalformed = errors.New("malformed JWT")

// StringList is a JSON claim that may be a string or an array of strings (aud, scope).
type StringList struct {
	Values  []string
	IsArray bool
}

// UnmarshalJSON accepts a string, an array of strings, or null.
func (s *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = StringList{}
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var v []string
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("want a string or an array of strings: %w", err)
		}
		*s = StringList{Values: v, IsArray: true}
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("want a string or an array of strings: %w", err)
	}
	*s = StringList{Values: []string{v}}
	return nil
}

// MarshalJSON writes the claim back in its original shape.
func (s StringList) MarshalJSON() ([]byte, error) {
	if s.IsArray {
		if s.Values == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(s.Values)
	}
	if len(s.Values) == 0 {
		return []byte("null"), nil
	}
	return json.Marshal(s.Values[0])
}

// NumericDate is a JWT time claim (seconds since the epoch; fractions allowed).
type NumericDate struct{ time.Time }

// UnmarshalJSON reads a JSON number, or a string holding one.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("not a NumericDate: %s", b)
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

// MarshalJSON writes seconds since the epoch.
func (d NumericDate) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(d.Unix(), 10)), nil
}

// Claims are the claims cesub reads. Scope keeps its shape: ARC 7.0 wants an
// array, 7.2 a space-separated string.
type Claims struct {
	Issuer    string       `json:"iss,omitempty"`
	Subject   string       `json:"sub,omitempty"`
	Audience  StringList   `json:"aud,omitempty"`
	Scope     StringList   `json:"scope,omitempty"`
	Groups    []string     `json:"wlcg.groups,omitempty"`
	WLCGVer   string       `json:"wlcg.ver,omitempty"`
	Ver       string       `json:"ver,omitempty"`
	Expiry    *NumericDate `json:"exp,omitempty"`
	NotBefore *NumericDate `json:"nbf,omitempty"`
	IssuedAt  *NumericDate `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
	ClientID  string       `json:"client_id,omitempty"`
}

// Scopes returns the individual scopes, whatever the claim's shape.
func (c *Claims) Scopes() []string {
	var out []string
	for _, v := range c.Scope.Values {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// JWT is a decoded, unverified token.
type JWT struct {
	Header    map[string]any
	Claims    Claims
	RawClaims map[string]any // every claim, for display
}

// Decode splits and decodes a compact JWS without verifying its signature
// (the CE verifies; cesub only inspects). Errors say which part is wrong.
func Decode(raw string) (*JWT, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %d dot-separated parts, want 3 (header.claims.signature)", ErrMalformed, len(parts))
	}
	var j JWT
	hb, err := decodeSegment(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if err := json.Unmarshal(hb, &j.Header); err != nil {
		return nil, fmt.Errorf("%w: header is not a JSON object: %v", ErrMalformed, err)
	}
	cb, err := decodeSegment(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if err := json.Unmarshal(cb, &j.RawClaims); err != nil {
		return nil, fmt.Errorf("%w: claims are not a JSON object: %v", ErrMalformed, err)
	}
	if err := json.Unmarshal(cb, &j.Claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if _, err := decodeSegment(parts[2]); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	return &j, nil
}

func decodeSegment(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("bad base64url: %v", err)
	}
	return b, nil
}
