package arexhttp

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/cesub/cesub/pkg/ce"
)

// Unanswered is a ping that got no answer at all: an authentication
// failure (no credential to send) is returned as the error, anything else
// is reported in r, with a hint.
func Unanswered(r *ce.PingResult, err error, hostPort string) (*ce.PingResult, error) {
	var ae *AuthError
	if errors.As(err, &ae) {
		return nil, err
	}
	r.Problem, r.Hint = err.Error(), ConnectHint(err, hostPort)
	return r, nil
}

// ConnectHint explains the usual network and TLS failures.
func ConnectHint(err error, hostPort string) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var oe *net.OpError
	switch {
	case errors.As(err, &ua):
		return "the CE's certificate is signed by a CA that is not trusted here: install the CA (the IGTF bundle " +
			"in /etc/grid-security/certificates) or point --ca-dir / X509_CERT_DIR at it"
	case errors.As(err, &he):
		return fmt.Sprintf("the CE's certificate is for %s, not for the name you used (%s): use the CE's real host name",
			strings.Join(append(he.Certificate.DNSNames, he.Certificate.Subject.CommonName), ", "), hostPort)
	case errors.As(err, &ie):
		if ie.Reason == x509.Expired {
			return "the CE's certificate has expired (or this machine's clock is wrong)"
		}
		return "the CE's certificate is not valid for TLS server use"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens on " + hostPort + ": the CE is down or the port is wrong (A-REX: 443 or 8443, HTCondor-CE: 9619)"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &oe) && oe.Timeout():
		return "no answer in time: a firewall may drop the traffic, or the CE is overloaded (raise --timeout to wait longer)"
	case strings.Contains(err.Error(), "no such host"):
		return "the host name does not resolve"
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return "the port speaks plain HTTP, not HTTPS"
	}
	return ""
}
