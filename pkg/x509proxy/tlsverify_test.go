package x509proxy

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// serverCert issues a TLS server certificate for names from the PKI's CA.
func serverCert(t *testing.T, p *testPKI, names ...string) tls.Certificate {
	t.Helper()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, k.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k, Leaf: c}
}

// caDir is a grid CA directory holding the PKI's CA as a hash-link-style file.
func caDir(t *testing.T, p *testPKI) string {
	t.Helper()
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "0a1b2c3d.0"), "CERTIFICATE", p.ca.Raw)
	return dir
}

func TestRootsGridFirstSystemOnlyWhenNeeded(t *testing.T) {
	grid := newPKI(t, time.Hour)
	public := newPKI(t, time.Hour) // stands in for a CA of the system store
	loads := 0
	sys := x509.NewCertPool()
	sys.AddCert(public.ca)
	r, err := LoadRoots(caDir(t, grid))
	if err != nil || r.GridN != 1 {
		t.Fatalf("LoadRoots: %v, %d files", err, r.GridN)
	}
	r.sysLoad = func() (*x509.CertPool, error) { loads++; return sys, nil }

	ok := serverCert(t, grid, "ce.example.org").Leaf
	if err := r.Verify("ce.example.org", []*x509.Certificate{ok}); err != nil || loads != 0 {
		t.Fatalf("grid-signed: %v, system loaded %d times", err, loads)
	}
	var he x509.HostnameError
	if err := r.Verify("other.example.org", []*x509.Certificate{ok}); !errors.As(err, &he) || loads != 0 {
		t.Fatalf("wrong name: %v (system loaded %d times)", err, loads)
	}
	pub := serverCert(t, public, "iam.example.org").Leaf
	if err := r.Verify("iam.example.org", []*x509.Certificate{pub}); err != nil || loads != 1 {
		t.Fatalf("system-signed: %v, system loaded %d times", err, loads)
	}
	stranger := newPKI(t, time.Hour)
	var ua x509.UnknownAuthorityError
	if err := r.Verify("x.example.org", []*x509.Certificate{serverCert(t, stranger, "x.example.org").Leaf}); !errors.As(err, &ua) || loads != 1 {
		t.Fatalf("unknown CA: %v, loads %d", err, loads)
	}
}

func TestRootsOverRealTLS(t *testing.T) {
	grid := newPKI(t, time.Hour)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert(t, grid, "localhost")}} // SANs: localhost, 127.0.0.1
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	noSys := func(r *Roots) *Roots {
		r.sysLoad = func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }
		return r
	}
	r, _ := LoadRoots(caDir(t, grid))
	r = noSys(r)
	viaDialer := func(r *Roots, host string) error { // as cesub's HTTP client does
		tr := &http.Transport{DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			h, _, _ := net.SplitHostPort(addr)
			return (&tls.Dialer{Config: r.ConfigFor(h)}).DialContext(ctx, network, addr)
		}}
		resp, err := (&http.Client{Transport: tr}).Get("https://" + host + ":" + port + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := viaDialer(r, "localhost"); err != nil {
		t.Fatalf("trusted server by name: %v", err)
	}
	if err := viaDialer(r, "127.0.0.1"); err != nil {
		t.Fatalf("trusted server by an IP in its certificate: %v", err)
	}
	// a certificate without that IP, reached by IP: the name check must not be skipped
	srv2 := httptest.NewUnstartedServer(srv.Config.Handler)
	srv2.TLS = &tls.Config{Certificates: []tls.Certificate{serverCertNoIP(t, grid, "ce.example.org")}}
	srv2.StartTLS()
	defer srv2.Close()
	_, port2, _ := net.SplitHostPort(srv2.Listener.Addr().String())
	tr := &http.Transport{DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, _, _ := net.SplitHostPort(addr)
		return (&tls.Dialer{Config: r.ConfigFor(h)}).DialContext(ctx, network, addr)
	}}
	var he x509.HostnameError
	if _, err := (&http.Client{Transport: tr}).Get("https://127.0.0.1:" + port2 + "/"); !errors.As(err, &he) {
		t.Fatalf("IP not in the certificate: %v", err)
	}
	// the proxy-path config cannot know an IP host and refuses
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: r.ClientConfig()}}
	if _, err := c.Get("https://127.0.0.1:" + port + "/"); err == nil {
		t.Fatal("ClientConfig accepted a server reached by IP without checking its name")
	}
	if resp, err := c.Get("https://localhost:" + port + "/"); err != nil {
		t.Fatalf("ClientConfig by name: %v", err)
	} else {
		resp.Body.Close()
	}
	other, _ := LoadRoots(caDir(t, newPKI(t, time.Hour)))
	var ua x509.UnknownAuthorityError
	if err := viaDialer(noSys(other), "localhost"); !errors.As(err, &ua) {
		t.Fatalf("untrusted server accepted or wrong error: %v", err)
	}
}

// serverCertNoIP is serverCert without IP SANs.
func serverCertNoIP(t *testing.T, p *testPKI, name string) tls.Certificate {
	t.Helper()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(78), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, k.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}
