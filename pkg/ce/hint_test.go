package ce

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestConnectHint(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "https://ce:8443/arex/rest", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	cert := &x509.Certificate{DNSNames: []string{"ce.example.org"}}
	for _, tc := range []struct {
		name string
		err  error
		host string
		want string // substring; "" wants no hint
	}{
		{"refused, CE named", fmt.Errorf("version discovery: %w", refused), "ce:8443", "nothing listens on ce:8443"},
		{"refused, CE unnamed", fmt.Errorf("version discovery: %w", refused), "", "nothing listens there"},
		{"wrong name", fmt.Errorf("get: %w", x509.HostnameError{Certificate: cert, Host: "10.0.0.1"}), "", "for ce.example.org, not for the name you used (10.0.0.1)"},
		{"unknown CA", x509.UnknownAuthorityError{Cert: cert}, "", "not trusted here"},
		{"expired", x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired}, "", "expired"},
		{"deadline", fmt.Errorf("status: %w", context.DeadlineExceeded), "", "no answer in time"},
		{"dns", errors.New("dial tcp: lookup nosuch.invalid: no such host"), "", "does not resolve"},
		{"plain http", errors.New("http: server gave HTTP response to HTTPS client; first record does not look like a TLS handshake"), "", "plain HTTP"},
		{"something else", errors.New("EMI-ES CreateActivity: fault"), "", ""},
	} {
		got := ConnectHint(tc.err, tc.host)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
