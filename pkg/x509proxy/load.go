package x509proxy

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cesub/cesub/internal/ownfile"
	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// Passphrase returns the passphrase of an encrypted key; it is called only
// when a key turns out to be encrypted. what names the file.
type Passphrase func(what string) ([]byte, error)

// ErrNeedPassphrase is returned when a key is encrypted and no passphrase
// function was given.
var ErrNeedPassphrase = errors.New("the key is encrypted and no passphrase was given")

// ErrWrongPassphrase is returned when a passphrase does not decrypt a key.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// LoadUserCredential reads a user certificate and key. A certFile ending in
// .p12 or .pfx is read as PKCS#12 (the key inside it; keyFile is ignored).
// Keys may be PKCS#1, SEC 1, PKCS#8, legacy encrypted PEM or encrypted
// PKCS#8; pass is asked only for encrypted ones.
func LoadUserCredential(certFile, keyFile string, pass Passphrase) (*Credential, error) {
	if l := strings.ToLower(certFile); strings.HasSuffix(l, ".p12") || strings.HasSuffix(l, ".pfx") {
		return LoadPKCS12(certFile, pass)
	}
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("user certificate: %w", err)
	}
	certs, err := parseCerts(cb)
	if err != nil {
		return nil, fmt.Errorf("user certificate %s: %w", certFile, err)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("user certificate %s: no CERTIFICATE block", certFile)
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("user key: %w", err)
	}
	key, err := parseKeyPEM(kb, keyFile, pass)
	if err != nil {
		return nil, fmt.Errorf("user key %s: %w", keyFile, err)
	}
	cred := &Credential{Cert: certs[0], Key: key, Chain: certs[1:]}
	if err := keyMatches(cred.Cert, key); err != nil {
		return nil, fmt.Errorf("user key %s and certificate %s: %w", keyFile, certFile, err)
	}
	return cred, nil
}

// LoadPKCS12 reads a .p12/.pfx bundle: key, certificate and any chain.
func LoadPKCS12(file string, pass Passphrase) (*Credential, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("PKCS#12 bundle: %w", err)
	}
	try := func(pw string) (*Credential, error) {
		k, c, chain, err := pkcs12.DecodeChain(b, pw)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
		return &Credential{Cert: c, Key: s, Chain: endEntityChain(c, chain)}, nil
	}
	cred, err := try("")
	if err == nil {
		return cred, nil
	}
	if !errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("PKCS#12 bundle %s: %w", file, err)
	}
	if pass == nil {
		return nil, fmt.Errorf("PKCS#12 bundle %s: %w", file, ErrNeedPassphrase)
	}
	pw, err := pass(file)
	if err != nil {
		return nil, err
	}
	cred, err = try(string(pw))
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("PKCS#12 bundle %s: %w", file, ErrWrongPassphrase)
	}
	if err != nil {
		return nil, fmt.Errorf("PKCS#12 bundle %s: %w", file, err)
	}
	return cred, nil
}

// endEntityChain keeps the non-CA certificates of a bundle's chain: grid
// credentials carry only proxies and the user certificate, CAs come from
// the CA directory.
func endEntityChain(leaf *x509.Certificate, chain []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range chain {
		if !c.IsCA && !c.Equal(leaf) {
			out = append(out, c)
		}
	}
	return out
}

// LoadProxy reads a proxy file (or any file holding a certificate, its
// unencrypted key and its chain, in any order after the first certificate).
// A proxy another user owns or may write is refused, as ssh refuses such a
// key: its owner would choose who cesub acts as.
func LoadProxy(file string) (*Credential, error) {
	b, fi, err := ownfile.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	if err := ownfile.Check(file, fi, os.Geteuid()); err != nil {
		return nil, fmt.Errorf("proxy %w", err)
	}
	cred, err := ParseProxy(b)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", file, err)
	}
	return cred, nil
}

// ParseProxy parses the Globus proxy-file layout.
func ParseProxy(b []byte) (*Credential, error) {
	var certs []*x509.Certificate
	var key crypto.Signer
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch {
		case blk.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
			}
			certs = append(certs, c)
		case strings.HasSuffix(blk.Type, "PRIVATE KEY"):
			if key != nil {
				return nil, errors.New("more than one private key")
			}
			k, err := parseKeyBlock(blk, "", nil)
			if err != nil {
				return nil, err
			}
			key = k
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate in the file")
	}
	if key == nil {
		return nil, errors.New("no private key in the file")
	}
	cred := &Credential{Cert: certs[0], Key: key, Chain: certs[1:]}
	if err := keyMatches(cred.Cert, key); err != nil {
		return nil, err
	}
	return cred, nil
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 && len(b) > 0 && b[0] == 0x30 { // DER
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseKeyPEM(b []byte, what string, pass Passphrase) (crypto.Signer, error) {
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if strings.HasSuffix(blk.Type, "PRIVATE KEY") {
			return parseKeyBlock(blk, what, pass)
		}
	}
	return nil, errors.New("no PRIVATE KEY block")
}

func parseKeyBlock(blk *pem.Block, what string, pass Passphrase) (crypto.Signer, error) {
	der := blk.Bytes
	switch {
	case blk.Type == "ENCRYPTED PRIVATE KEY":
		if pass == nil {
			return nil, ErrNeedPassphrase
		}
		pw, err := pass(what)
		if err != nil {
			return nil, err
		}
		k, err := pkcs8.ParsePKCS8PrivateKey(der, pw)
		if err != nil {
			if strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "decrypt") {
				return nil, ErrWrongPassphrase
			}
			return nil, fmt.Errorf("encrypted PKCS#8 key: %w", err)
		}
		return asSigner(k)
	case x509.IsEncryptedPEMBlock(blk): //nolint:staticcheck // legacy OpenSSL encrypted PEM is what grid users have
		if pass == nil {
			return nil, ErrNeedPassphrase
		}
		pw, err := pass(what)
		if err != nil {
			return nil, err
		}
		d, err := x509.DecryptPEMBlock(blk, pw) //nolint:staticcheck // see above
		if err != nil {
			if errors.Is(err, x509.IncorrectPasswordError) {
				return nil, ErrWrongPassphrase
			}
			return nil, fmt.Errorf("encrypted PEM key: %w", err)
		}
		der = d
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return asSigner(k)
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if x509.IsEncryptedPEMBlock(blk) { //nolint:staticcheck // see above
		return nil, ErrWrongPassphrase // garbage after decryption: a wrong passphrase with a weak padding check
	}
	return nil, fmt.Errorf("%s block is neither PKCS#1, PKCS#8 nor SEC 1", blk.Type)
}

func asSigner(k any) (crypto.Signer, error) {
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}
