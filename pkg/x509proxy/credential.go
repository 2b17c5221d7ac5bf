package x509proxy

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Credential is a certificate with its private key and issuing chain
// (nearest issuer first, ending at the end-entity certificate; CAs are not
// included).
type Credential struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// Kind says what sort of certificate a credential holds.
type Kind string

// The kinds of certificate.
const (
	EndEntity     Kind = "end-entity"
	RFC3820       Kind = "RFC 3820 proxy"
	RFC3820Limit  Kind = "RFC 3820 limited proxy"
	RFC3820Indep  Kind = "RFC 3820 independent proxy"
	RFC3820Other  Kind = "RFC 3820 proxy (restricted policy)"
	LegacyProxy   Kind = "legacy Globus proxy"
	LegacyLimited Kind = "legacy Globus limited proxy"
	DraftProxy    Kind = "GT3 draft proxy"
)

// Object identifiers of RFC 3820 and its predecessors.
var (
	OIDProxyCertInfo      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 14}
	OIDDraftProxyCertInfo = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3536, 1, 222}
	OIDInheritAll         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 21, 1}
	OIDIndependent        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 21, 2}
	OIDLimited            = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3536, 1, 1, 1, 9}
	oidCommonName         = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// proxyCertInfo is RFC 3820's ProxyCertInfo extension value.
type proxyCertInfo struct {
	PathLen int `asn1:"optional,default:-1"`
	Policy  proxyPolicy
}

type proxyPolicy struct {
	Language asn1.ObjectIdentifier
	Policy   []byte `asn1:"optional"`
}

// CertKind classifies a certificate as an end-entity certificate or one of
// the proxy flavours.
func CertKind(c *x509.Certificate) Kind {
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(OIDProxyCertInfo):
			var info proxyCertInfo
			if _, err := asn1.Unmarshal(e.Value, &info); err != nil {
				return RFC3820Other
			}
			switch {
			case info.Policy.Language.Equal(OIDInheritAll):
				return RFC3820
			case info.Policy.Language.Equal(OIDLimited):
				return RFC3820Limit
			case info.Policy.Language.Equal(OIDIndependent):
				return RFC3820Indep
			}
			return RFC3820Other
		case e.Id.Equal(OIDDraftProxyCertInfo):
			return DraftProxy
		}
	}
	names := c.Subject.Names
	if len(names) > 0 && names[len(names)-1].Type.Equal(oidCommonName) {
		switch names[len(names)-1].Value {
		case "proxy":
			return LegacyProxy
		case "limited proxy":
			return LegacyLimited
		}
	}
	return EndEntity
}

// IsProxy reports whether a certificate is any kind of proxy.
func IsProxy(c *x509.Certificate) bool { return CertKind(c) != EndEntity }

// Kind is the kind of the credential's own certificate.
func (c *Credential) Kind() Kind { return CertKind(c.Cert) }

// EndEntity is the user certificate the credential derives from.
func (c *Credential) EndEntity() *x509.Certificate {
	if !IsProxy(c.Cert) {
		return c.Cert
	}
	for _, x := range c.Chain {
		if !IsProxy(x) {
			return x
		}
	}
	return c.Chain[len(c.Chain)-1]
}

// Identity is the subject of the end-entity certificate in OpenSSL's
// one-line grid form (/DC=org/DC=example/CN=Jane Doe).
func (c *Credential) Identity() string { return GridName(c.EndEntity().RawSubject) }

// NotAfter is when the credential stops being usable: the earliest expiry
// along its chain.
func (c *Credential) NotAfter() time.Time {
	t := c.Cert.NotAfter
	for _, x := range c.Chain {
		if x.NotAfter.Before(t) {
			t = x.NotAfter
		}
	}
	return t
}

// TimeLeft is NotAfter minus now, never negative.
func (c *Credential) TimeLeft(now time.Time) time.Duration {
	if d := c.NotAfter().Sub(now); d > 0 {
		return d
	}
	return 0
}

// TLSCertificate is the credential as a TLS client certificate, with its chain.
func (c *Credential) TLSCertificate() tls.Certificate {
	tc := tls.Certificate{PrivateKey: c.Key, Leaf: c.Cert, Certificate: [][]byte{c.Cert.Raw}}
	for _, x := range c.Chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
}

// ChainPEM is the certificate followed by its issuing chain, as PEM.
func (c *Credential) ChainPEM() []byte {
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
	for _, x := range c.Chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})
	}
	return b.Bytes()
}

// FilePEM is the credential in the Globus proxy-file layout: certificate,
// private key, issuing chain.
func (c *Credential) FilePEM() ([]byte, error) {
	kb, err := marshalKey(c.Key)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
	_ = pem.Encode(&b, kb)
	for _, x := range c.Chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})
	}
	return b.Bytes(), nil
}

func marshalKey(k crypto.Signer) (*pem.Block, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}, nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("encoding EC key: %w", err)
		}
		return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}, nil
	case ed25519.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("encoding Ed25519 key: %w", err)
		}
		return &pem.Block{Type: "PRIVATE KEY", Bytes: der}, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", k)
}

// Verify checks the credential's own structure: the key matches the
// certificate, each certificate is signed by the next one in the chain, each
// proxy's subject extends its issuer's by one CN, and every certificate is
// within its validity at now. It does not check the end-entity certificate
// against a CA (the CE does that).
func (c *Credential) Verify(now time.Time) error {
	if err := keyMatches(c.Cert, c.Key); err != nil {
		return err
	}
	all := append([]*x509.Certificate{c.Cert}, c.Chain...)
	for i, x := range all {
		if now.Before(x.NotBefore) {
			return fmt.Errorf("certificate %q is not valid before %s", GridName(x.RawSubject), x.NotBefore.UTC().Format(time.RFC3339))
		}
		if now.After(x.NotAfter) {
			return &ExpiredError{Subject: GridName(x.RawSubject), NotAfter: x.NotAfter}
		}
		if !IsProxy(x) {
			break
		}
		if i+1 >= len(all) {
			return fmt.Errorf("proxy %q comes without the certificate that signed it", GridName(x.RawSubject))
		}
		parent := all[i+1]
		if err := parent.CheckSignature(x.SignatureAlgorithm, x.RawTBSCertificate, x.Signature); err != nil {
			return fmt.Errorf("proxy %q is not signed by %q: %w", GridName(x.RawSubject), GridName(parent.RawSubject), err)
		}
		if !bytes.Equal(x.RawIssuer, parent.RawSubject) {
			return fmt.Errorf("proxy %q names issuer %q but the next certificate is %q", GridName(x.RawSubject), GridName(x.RawIssuer), GridName(parent.RawSubject))
		}
		if k := CertKind(x); k != LegacyProxy && k != LegacyLimited && !extendsByCN(x.RawSubject, parent.RawSubject) {
			return fmt.Errorf("proxy subject %q does not extend its issuer %q by one CN", GridName(x.RawSubject), GridName(parent.RawSubject))
		}
	}
	return nil
}

// ExpiredError is a credential past its end of validity.
type ExpiredError struct {
	Subject  string
	NotAfter time.Time
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("certificate %q expired at %s", e.Subject, e.NotAfter.UTC().Format(time.RFC3339))
}

func keyMatches(c *x509.Certificate, k crypto.Signer) error {
	pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(k.Public()) {
		return errors.New("the private key does not belong to the certificate")
	}
	return nil
}

func extendsByCN(child, parent []byte) bool {
	var c, p pkix.RDNSequence
	if _, err := asn1.Unmarshal(child, &c); err != nil {
		return false
	}
	if _, err := asn1.Unmarshal(parent, &p); err != nil {
		return false
	}
	if len(c) != len(p)+1 {
		return false
	}
	last := c[len(c)-1]
	if len(last) != 1 || !last[0].Type.Equal(oidCommonName) {
		return false
	}
	pc, _ := asn1.Marshal(p)
	cc, _ := asn1.Marshal(c[:len(p)])
	return bytes.Equal(pc, cc)
}
