package x509proxy

import (
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

func TestRootsClientConfigOverRealTLS(t *testing.T) {
	grid := newPKI(t, time.Hour)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert(t, grid, "localhost")}}
	srv.StartTLS()
	defer srv.Close()
	r, _ := LoadRoots(caDir(t, grid))
	r.sysLoad = func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }
	get := func(host string, r *Roots) error {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: r.ClientConfig()}}
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		resp, err := c.Get("https://" + host + ":" + port + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get("localhost", r); err != nil {
		t.Fatalf("trusted server: %v", err)
	}
	other, _ := LoadRoots(caDir(t, newPKI(t, time.Hour)))
	other.sysLoad = func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }
	var ua x509.UnknownAuthorityError
	if err := get("localhost", other); !errors.As(err, &ua) {
		t.Fatalf("untrusted server accepted or wrong error: %v", err)
	}
}
