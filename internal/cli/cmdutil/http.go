package cmdutil

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/tcpopt"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// HTTPClient builds the client every network call uses: grid CA directory
// plus system roots, --insecure with a warning, --timeout per request, and a
// debug log of requests with credentials redacted.
func (f *Factory) HTTPClient() (*http.Client, error) { return f.HTTPClientWith(nil) }

// TLSFor returns the TLS client configuration for a server name (or
// address): the grid CA directory first, then the system roots, the host
// name checked on every connection; cert (if not nil) is the client
// certificate. With --insecure nothing is verified, and a warning says so.
func (f *Factory) TLSFor(cert *tls.Certificate) (func(host string) *tls.Config, error) {
	var certs []tls.Certificate
	if cert != nil {
		certs = []tls.Certificate{*cert}
	}
	if config.Get(f.Config, config.Insecure) {
		f.Warnf("--insecure: TLS certificates are NOT verified; anyone on the path can read your token")
		return func(host string) *tls.Config {
			return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true, Certificates: certs, ServerName: host}
		}, nil
	}
	dir := config.Get(f.Config, config.CADir)
	roots, err := x509proxy.LoadRoots(dir)
	if err != nil {
		return nil, err
	}
	f.Debugf("TLS trust: %d CA files from %s, then the system roots", roots.GridN, dir)
	return func(host string) *tls.Config {
		if host == "" {
			cfg := roots.ClientConfig() // used only through HTTP proxies
			cfg.Certificates = certs
			return cfg
		}
		cfg := roots.ConfigFor(host)
		cfg.Certificates = certs
		return cfg
	}, nil
}

// HTTPClientWith is HTTPClient presenting cert (if not nil) as the TLS
// client certificate.
func (f *Factory) HTTPClientWith(cert *tls.Certificate) (*http.Client, error) {
	tlsFor, err := f.TLSFor(cert)
	if err != nil {
		return nil, err
	}
	return f.httpClient(tlsFor), nil
}

func (f *Factory) httpClient(tlsFor func(string) *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = false
	tr.TLSClientConfig = tlsFor("")
	if !tr.TLSClientConfig.InsecureSkipVerify || tr.TLSClientConfig.VerifyConnection != nil {
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			raw, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			conn := tls.Client(tcpopt.QuickAck(raw), tlsFor(host))
			if err := conn.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return conn, nil
		}
	}
	return &http.Client{Transport: &debugTransport{next: tr, f: f}, Timeout: config.Get(f.Config, config.Timeout),
		CheckRedirect: httpsOnlyRedirects}
}

// httpsOnlyRedirects is the default redirect rule of every client: never to
// plain http, and no Authorization header once the scheme, host or port
// changes. (CE and issuer clients are stricter: pkg/ce/arexhttp follows no
// redirect, pkg/token none off https or, for token requests, off the origin.)
func httpsOnlyRedirects(req *http.Request, via []*http.Request) error {
	prev := via[len(via)-1].URL
	if req.URL.Scheme != "https" {
		return fmt.Errorf("%s redirected to %s: refused, cesub sends nothing over plain http", prev.Redacted(), req.URL.Redacted())
	}
	if len(via) >= 10 {
		return fmt.Errorf("%s: stopped after 10 redirects", via[0].URL.Redacted())
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del("Authorization")
	}
	return nil
}

// debugTransport names cesub in User-Agent (site logs otherwise show the
// HTTP library's name) and logs requests under --debug. It never prints
// header values of credential-bearing headers, nor bodies.
type debugTransport struct {
	next http.RoundTripper
	f    *Factory
}

// UserAgent is what cesub's HTTP requests call themselves.
func (f *Factory) UserAgent() string {
	v := f.Version
	if v == "" {
		v = "dev"
	}
	return "cesub/" + v + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")"
}

var secretHeaders = map[string]bool{"Authorization": true, "X-Token-Delegation": true, "Cookie": true, "Proxy-Authorization": true}

func (d *debugTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set("User-Agent", d.f.UserAgent())
	d.f.Debugf("> %s %s", r.Method, r.URL.Redacted())
	for k, v := range r.Header {
		if secretHeaders[k] {
			d.f.Debugf(">   %s: %s", k, redactHeader(strings.Join(v, ",")))
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

// redactHeader keeps only an authorization scheme ("Bearer", "Basic") of a
// secret header value; a bare secret (a token in X-Token-Delegation) is
// replaced whole.
func redactHeader(v string) string {
	scheme, _, found := strings.Cut(v, " ")
	switch strings.ToLower(scheme) {
	case "bearer", "basic", "digest", "negotiate", "dpop":
		if found {
			return scheme + " [REDACTED]"
		}
	}
	return "[REDACTED]"
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport (backends call it when a token changes).
func (d *debugTransport) CloseIdleConnections() {
	if c, ok := d.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
