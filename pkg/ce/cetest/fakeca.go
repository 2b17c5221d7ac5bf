package cetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/x509proxy"
)

// FakeCA is a certificate authority made at test time for fake CEs: it
// issues the fake server's certificate (for 127.0.0.1) and a user
// certificate to sign delegations with, and checks the proxy chains a fake
// CE receives. Nothing of it is written to disk.
type FakeCA struct {
	Cert *x509.Certificate
	key  crypto.Signer
	Pool *x509.CertPool
}

// NewFakeCA makes a CA valid for a day.
func NewFakeCA(t testing.TB) *FakeCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"cesub test"}, CommonName: "cesub fake CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	cert := createCert(t, tmpl, tmpl, key.Public(), key)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &FakeCA{Cert: cert, key: key, Pool: pool}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func createCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// issue signs a certificate for pub with the CA.
func (ca *FakeCA) issue(t testing.TB, subject pkix.Name, pub crypto.PublicKey, server bool) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial.Add(serial, big.NewInt(2)), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return createCert(t, tmpl, ca.Cert, pub, ca.key)
}

// StartFakeTLS serves h over HTTPS on 127.0.0.1 with a certificate of the
// CA; the server stops when the test ends. Its Client trusts only the CA.
func (ca *FakeCA) StartFakeTLS(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	key := newKey(t)
	cert := ca.issue(t, pkix.Name{CommonName: "127.0.0.1"}, key.Public(), true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// Client is an HTTP client that trusts only the CA.
func (ca *FakeCA) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}}}
}

// User issues an end-entity user certificate (the credential a delegation
// is signed with).
func (ca *FakeCA) User(t testing.TB, cn string) *x509proxy.Credential {
	t.Helper()
	key := newKey(t)
	cert := ca.issue(t, pkix.Name{Organization: []string{"cesub test"}, CommonName: cn}, key.Public(), false)
	return &x509proxy.Credential{Cert: cert, Key: key}
}

// NewCSR makes the key and PEM certificate request a CE hands out when a
// delegation starts.
func NewCSR(t testing.TB) (crypto.Signer, []byte) {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "delegation"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// CheckDelegated checks a delegated proxy chain as a CE would: PEM
// certificates, the first an RFC 3820 proxy for the key of the CE's request
// (pub), signed by the next, which the CA issued. It returns the proxy.
func (ca *FakeCA) CheckDelegated(chainPEM []byte, pub crypto.PublicKey) (*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := chainPEM; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a %s block in a delegated chain", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("delegated chain: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) < 2 {
		return nil, fmt.Errorf("delegated chain of %d certificates: want the proxy and its signer", len(certs))
	}
	proxy := certs[0]
	if k, ok := proxy.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(pub) {
		return nil, errors.New("the proxy is not for the key of the CE's request")
	}
	if x509proxy.CertKind(proxy) != x509proxy.RFC3820 {
		return nil, fmt.Errorf("the delegated certificate is a %s, not an RFC 3820 proxy", x509proxy.CertKind(proxy))
	}
	// (CheckSignatureFrom wants a CA as the parent; a proxy's is a user)
	if err := certs[1].CheckSignature(proxy.SignatureAlgorithm, proxy.RawTBSCertificate, proxy.Signature); err != nil {
		return nil, fmt.Errorf("the proxy is not signed by the next certificate: %w", err)
	}
	opts := x509.VerifyOptions{Roots: ca.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := certs[1].Verify(opts); err != nil {
		return nil, fmt.Errorf("the proxy's signer is not from the CA: %w", err)
	}
	return proxy, nil
}
