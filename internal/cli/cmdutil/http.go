package cmdutil

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/config"
)

// CertPool is the system roots plus every certificate in the grid CA
// directory (*.0 and *.pem files; private keys and other blocks are skipped).
// A missing directory is not an error: the system roots remain.
func CertPool(dir string) (*x509.CertPool, int, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if dir == "" {
		return pool, 0, nil
	}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return pool, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("CA directory %s: %w", dir, err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".0") && !strings.HasSuffix(name, ".pem") || strings.HasSuffix(name, "-key.pem") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue // dangling links and unreadable files are common in CA dirs
		}
		if pool.AppendCertsFromPEM(b) {
			n++
		}
	}
	return pool, n, nil
}

// HTTPClient builds the client every network call uses: grid CA directory
// plus system roots, --insecure with a warning, --timeout per request, and a
// debug log of requests with credentials redacted.
func (f *Factory) HTTPClient() (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if config.Get(f.Config, config.Insecure) {
		f.Warnf("--insecure: TLS certificates are NOT verified; anyone on the path can read your token")
		tlsConf.InsecureSkipVerify = true
	} else {
		dir := config.Get(f.Config, config.CADir)
		pool, n, err := CertPool(dir)
		if err != nil {
			return nil, err
		}
		f.Debugf("TLS trust: system roots + %d CA files from %s", n, dir)
		tlsConf.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.ForceAttemptHTTP2 = false
	return &http.Client{Transport: &debugTransport{next: tr, f: f}, Timeout: config.Get(f.Config, config.Timeout)}, nil
}

// debugTransport logs requests under --debug. It never prints header values
// of credential-bearing headers, nor bodies.
type debugTransport struct {
	next http.RoundTripper
	f    *Factory
}

var secretHeaders = map[string]bool{"Authorization": true, "X-Token-Delegation": true, "Cookie": true, "Proxy-Authorization": true}

func (d *debugTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	d.f.Debugf("> %s %s", r.Method, r.URL.Redacted())
	for k, v := range r.Header {
		if secretHeaders[k] {
			scheme, _, _ := strings.Cut(strings.Join(v, ","), " ")
			d.f.Debugf(">   %s: %s [REDACTED]", k, scheme)
			continue
		}
		d.f.Debugf(">   %s: %s", k, strings.Join(v, ", "))
	}
	t0 := time.Now()
	resp, err := d.next.RoundTrip(r)
	if err != nil {
		d.f.Debugf("< error after %s: %v", time.Since(t0).Round(time.Millisecond), err)
		return nil, err
	}
	d.f.Debugf("< %s (%s, %s)", resp.Status, resp.Header.Get("Content-Type"), time.Since(t0).Round(time.Millisecond))
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport (backends call it when a token changes).
func (d *debugTransport) CloseIdleConnections() {
	if c, ok := d.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
