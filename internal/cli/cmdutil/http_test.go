package cmdutil

import (
	"encoding/base64"
	"strings"
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
