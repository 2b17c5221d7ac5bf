package cmdutil

import (
	"testing"

	"github.com/cesub/cesub/pkg/token"
)

func TestResolveDelegate(t *testing.T) {
	tok := &token.Static{}
	for _, tc := range []struct {
		mode string
		src  token.Source
		want string
		err  bool
	}{
		{"auto", nil, DelegateX509, false}, // the proxy is the credential: delegate it, as arcsub does
		{"auto", tok, DelegateNone, false}, // a token alone needs no delegation
		{"", tok, DelegateNone, false},
		{"x509", tok, DelegateX509, false},
		{"token", tok, DelegateToken, false},
		{"none", nil, DelegateNone, false},
		{"voms", nil, "", true},
	} {
		got, err := ResolveDelegate(tc.mode, tc.src)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%q (token=%v): %q %v", tc.mode, tc.src != nil, got, err)
		}
		if err != nil && CodeOf(err) != ExitUsage {
			t.Errorf("%q: exit %d, want 2", tc.mode, CodeOf(err))
		}
	}
}
