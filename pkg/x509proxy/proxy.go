package x509proxy

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Options shape a new proxy.
type Options struct {
	// Lifetime is the wanted validity; it is cut to what the signer has
	// left. Zero means 12 hours.
	Lifetime time.Duration
	// Bits is the RSA key size of a new key; zero means 2048.
	Bits int
	// Limited makes a limited proxy (CEs refuse to run jobs with one).
	Limited bool
	// Now is the clock (tests); zero means time.Now.
	Now func() time.Time
}

// Skew is how far before now a new proxy's validity starts, so that a CE
// whose clock is slightly behind still accepts it.
const Skew = 5 * time.Minute

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// NewProxy makes an RFC 3820 proxy of signer (a user credential or itself a
// proxy) with a fresh RSA key.
func NewProxy(signer *Credential, o Options) (*Credential, error) {
	bits := o.Bits
	if bits == 0 {
		bits = 2048
	}
	if bits < 1024 {
		return nil, fmt.Errorf("key size %d is too small (at least 1024)", bits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generating the proxy key: %w", err)
	}
	cert, err := sign(signer, key.Public(), o)
	if err != nil {
		return nil, err
	}
	return &Credential{Cert: cert, Key: key, Chain: append([]*x509.Certificate{signer.Cert}, signer.Chain...)}, nil
}

// SignRequest signs a PEM (or DER) certificate request, as a CE hands out
// for delegation, with signer: the result is the new proxy certificate
// followed by the signer's chain, as PEM, ready to upload.
func SignRequest(signer *Credential, csr []byte, o Options) ([]byte, error) {
	der := csr
	if blk, _ := pem.Decode(csr); blk != nil {
		der = blk.Bytes
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("delegation request: %w", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("delegation request: bad signature: %w", err)
	}
	cert, err := sign(signer, req.PublicKey, o)
	if err != nil {
		return nil, err
	}
	c := &Credential{Cert: cert, Chain: append([]*x509.Certificate{signer.Cert}, signer.Chain...)}
	return c.ChainPEM(), nil
}

func sign(signer *Credential, pub crypto.PublicKey, o Options) (*x509.Certificate, error) {
	now := o.now()
	if err := signer.Verify(now); err != nil {
		return nil, fmt.Errorf("signing credential: %w", err)
	}
	if k := signer.Kind(); k == RFC3820Limit || k == LegacyLimited {
		if !o.Limited {
			return nil, errors.New("a limited proxy can only sign limited proxies")
		}
	}
	life := o.Lifetime
	if life == 0 {
		life = 12 * time.Hour
	}
	if life < 0 {
		return nil, fmt.Errorf("negative proxy lifetime %s", life)
	}
	notBefore := now.Add(-Skew)
	if notBefore.Before(signer.Cert.NotBefore) {
		notBefore = signer.Cert.NotBefore
	}
	notAfter := now.Add(life)
	if end := signer.NotAfter(); notAfter.After(end) {
		notAfter = end
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	serial.Add(serial, big.NewInt(1))
	var subject pkix.RDNSequence
	if _, err := asn1.Unmarshal(signer.Cert.RawSubject, &subject); err != nil {
		return nil, fmt.Errorf("signer subject: %w", err)
	}
	subject = append(subject, pkix.RelativeDistinguishedNameSET{{Type: oidCommonName, Value: serial.String()}})
	rawSubject, err := asn1.Marshal(subject)
	if err != nil {
		return nil, err
	}
	lang := OIDInheritAll
	if o.Limited {
		lang = OIDLimited
	}
	info, err := asn1.Marshal(proxyCertInfo{PathLen: -1, Policy: proxyPolicy{Language: lang}})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		RawSubject:      rawSubject,
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		ExtraExtensions: []pkix.Extension{{Id: OIDProxyCertInfo, Critical: true, Value: info}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer.Cert, pub, signer.Key)
	if err != nil {
		return nil, fmt.Errorf("signing the proxy: %w", err)
	}
	return x509.ParseCertificate(der)
}

// DefaultPath is where grid tools look for the proxy: $X509_USER_PROXY, else
// /tmp/x509up_u<uid>.
func DefaultPath(getenv func(string) string, uid int) string {
	if p := getenv("X509_USER_PROXY"); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("x509up_u%d", uid))
}

// WriteFile writes the credential in the proxy-file layout with mode 0600,
// atomically: readers see the old file or the new one, never half of one.
func WriteFile(path string, c *Credential) error {
	b, err := c.FilePEM()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".x509up-*")
	if err != nil {
		return fmt.Errorf("writing proxy: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("writing proxy: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing proxy %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing proxy %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing proxy: %w", err)
	}
	return nil
}
