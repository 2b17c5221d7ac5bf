package ce

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
)

// ConnectHint explains the usual network and TLS failures ("" for other
// errors); hostPort names the CE in it (may be empty).
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
		var names []string
		for _, n := range append(he.Certificate.DNSNames, he.Certificate.Subject.CommonName) {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		return fmt.Sprintf("the CE's certificate is for %s, not for the name you used (%s): use the CE's real host name",
			strings.Join(names, ", "), he.Host)
	case errors.As(err, &ie):
		if ie.Reason == x509.Expired {
			return "the CE's certificate has expired (or this machine's clock is wrong)"
		}
		return "the CE's certificate is not valid for TLS server use"
	case errors.Is(err, syscall.ECONNREFUSED):
		where := "there"
		if hostPort != "" {
			where = "on " + hostPort
		}
		return "nothing listens " + where + ": the CE is down or the port is wrong (A-REX: 443 or 8443, HTCondor-CE: 9619)"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &oe) && oe.Timeout():
		return "no answer in time: a firewall may drop the traffic, or the CE is overloaded (raise --timeout to wait longer)"
	case strings.Contains(err.Error(), "no such host"):
		return "the host name does not resolve"
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return "the port speaks plain HTTP, not HTTPS"
	}
	return ""
}
