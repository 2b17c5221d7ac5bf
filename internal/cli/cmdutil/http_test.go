package cmdutil

import (
	"strings"
	"testing"
)

func TestRedactHeader(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
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
