package token

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func jwtOf(claims string) string {
	return seg(`{"alg":"RS256","kid":"k1"}`) + "." + seg(claims) + "." + seg("sig")
}

func TestDecodeMalformed(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"one part", "abc", "1 dot-separated parts, want 3"},
		{"two parts", "abc.def", "2 dot-separated parts"},
		{"four parts", "a.b.c.d", "4 dot-separated parts"},
		{"empty header", "." + seg("{}") + "." + seg("s"), "header: empty"},
		{"bad base64 header", "!!!." + seg("{}") + "." + seg("s"), "header: bad base64url"},
		{"header not JSON", seg("nope") + "." + seg("{}") + "." + seg("s"), "header is not a JSON object"},
		{"claims bad base64", seg("{}") + ".%%%." + seg("s"), "claims: bad base64url"},
		{"claims not JSON", seg("{}") + "." + seg("[1,2") + "." + seg("s"), "claims are not a JSON object"},
		{"claims array", seg("{}") + "." + seg("[1]") + "." + seg("s"), "claims are not a JSON object"},
		{"exp not a number", jwtOf(`{"exp":"soon"}`), "not a NumericDate"},
		{"aud wrong type", jwtOf(`{"aud":5}`), "want a string or an array of strings"},
		{"empty signature", seg("{}") + "." + seg("{}") + ".", "signature: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.raw)
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode: got %v, want ErrMalformed containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeClaims(t *testing.T) {
	j, err := Decode(jwtOf(`{"iss":"https://i/","sub":"u","aud":["a","b"],"scope":"compute.read  compute.create",` +
		`"wlcg.groups":["/vo","/vo/x"],"wlcg.ver":"1.0","exp":1700000000.5,"nbf":"1699990000","iat":1699990000}`))
	if err != nil {
		t.Fatal(err)
	}
	c := j.Claims
	if c.Issuer != "https://i/" || c.Subject != "u" || !c.Audience.IsArray || strings.Join(c.Audience.Values, ",") != "a,b" {
		t.Errorf("iss/sub/aud wrong: %+v", c)
	}
	if got := strings.Join(c.Scopes(), ","); got != "compute.read,compute.create" {
		t.Errorf("scopes = %q", got)
	}
	if c.Expiry.Unix() != 1700000000 || c.NotBefore.Unix() != 1699990000 {
		t.Errorf("times: exp %v nbf %v", c.Expiry, c.NotBefore)
	}
	if j.Header["kid"] != "k1" || j.RawClaims["wlcg.ver"] != "1.0" {
		t.Errorf("header/raw claims: %v %v", j.Header, j.RawClaims)
	}
	// scope as an array (ARC 7.0 style) keeps its shape
	j, err = Decode(jwtOf(`{"scope":["compute.read","compute.cancel"],"aud":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !j.Claims.Scope.IsArray || strings.Join(j.Claims.Scopes(), " ") != "compute.read compute.cancel" || j.Claims.Audience.IsArray {
		t.Errorf("array scope: %+v", j.Claims.Scope)
	}
	if j.Claims.Expiry != nil {
		t.Errorf("absent exp decoded as %v", j.Claims.Expiry)
	}
	_ = time.Now
}

func FuzzDecode(f *testing.F) {
	f.Add(jwtOf(`{"iss":"x","aud":["a"],"exp":1}`))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		j, err := Decode(s)
		if err == nil && j == nil {
			t.Fatal("nil JWT without error")
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not ErrMalformed: %v", err)
		}
	})
}
