package x509proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
)

// Roots verifies TLS servers against the grid CA directory first and the
// system roots second, loading the system roots only when a server is not
// signed by a grid CA. Reading the system store costs tens of milliseconds
// per process; CEs almost always have IGTF (grid) certificates, so most
// cesub runs never pay it.
type Roots struct {
	Grid    *x509.CertPool
	GridN   int // files that added a certificate
	once    sync.Once
	sys     *x509.CertPool
	sysErr  error
	sysLoad func() (*x509.CertPool, error)
}

// LoadRoots reads the grid CA directory (missing is not an error).
func LoadRoots(dir string) (*Roots, error) {
	grid, n, err := gridPool(dir)
	if err != nil {
		return nil, err
	}
	return &Roots{Grid: grid, GridN: n, sysLoad: x509.SystemCertPool}, nil
}

func (r *Roots) system() (*x509.CertPool, error) {
	r.once.Do(func() { r.sys, r.sysErr = r.sysLoad() })
	return r.sys, r.sysErr
}

// Verify checks a server's chain for serverName: grid CAs, then system roots.
func (r *Roots) Verify(serverName string, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{DNSName: serverName, Intermediates: inter, Roots: r.Grid,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	_, gridErr := chain[0].Verify(opts)
	if gridErr == nil {
		return nil
	}
	var ua x509.UnknownAuthorityError
	if !errors.As(gridErr, &ua) {
		// a grid CA signed it, but the name, dates or usage are wrong: that is the answer
		return fmt.Errorf("tls: failed to verify certificate: %w", gridErr)
	}
	sys, err := r.system()
	if err != nil || sys == nil {
		return fmt.Errorf("tls: failed to verify certificate: %w", gridErr)
	}
	opts.Roots = sys
	if _, err := chain[0].Verify(opts); err != nil {
		return fmt.Errorf("tls: failed to verify certificate: %w", err)
	}
	return nil
}

// ConfigFor is a TLS client configuration for one server, verifying its
// certificate for host (a name or an IP address) with r. Go's own
// verification is replaced, not skipped: VerifyConnection runs for every
// connection, resumed ones included. Use it from a dialer that knows the host.
func (r *Roots) ConfigFor(host string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: true, // verified in VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			return r.Verify(host, cs.PeerCertificates)
		},
	}
}

// ClientConfig is a TLS client configuration for code paths that cannot
// name the host per connection (an HTTP proxy's CONNECT tunnel): it checks
// against the SNI name and refuses servers reached by IP address, whose
// name it could not check.
func (r *Roots) ClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified in VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cs.ServerName == "" {
				return errors.New("tls: cannot verify the server's name (reached by IP address through a proxy)")
			}
			return r.Verify(cs.ServerName, cs.PeerCertificates)
		},
	}
}
