package x509proxy

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA and a user certificate made at test time.
type testPKI struct {
	ca     *x509.Certificate
	caKey  *rsa.PrivateKey
	user   *Credential
	dir    string
	caFile string
}

var oidDC = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}

func userName(cn string) pkix.Name {
	return pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: oidDC, Value: "org"}, {Type: oidDC, Value: "example"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Grid"}, {Type: oidCommonName, Value: cn}}}
}

func newPKI(t *testing.T, userLife time.Duration) *testPKI {
	t.Helper()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cesub test CA", Organization: []string{"Grid"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caT, caT, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	uKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	uT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: userName("Jane Doe"),
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(userLife), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	uDER, err := x509.CreateCertificate(rand.Reader, uT, ca, uKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := x509.ParseCertificate(uDER)
	dir := t.TempDir()
	p := &testPKI{ca: ca, caKey: caKey, user: &Credential{Cert: u, Key: uKey}, dir: dir, caFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", ca.Raw)
	writePEM(t, filepath.Join(dir, "usercert.pem"), "CERTIFICATE", u.Raw)
	writePEM(t, filepath.Join(dir, "userkey.pem"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(uKey))
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is missing")
		}
		t.Skip("openssl not installed")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

func TestProxyPassesOpenSSLVerify(t *testing.T) {
	p := newPKI(t, 24*time.Hour)
	proxy, err := NewProxy(p.user, Options{Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(p.dir, "x509up")
	if err := WriteFile(path, proxy); err != nil {
		t.Fatal(err)
	}
	user := filepath.Join(p.dir, "usercert.pem")
	if out, err := openssl(t, "verify", "-allow_proxy_certs", "-CAfile", p.caFile, "-untrusted", user, path); err != nil || !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify -allow_proxy_certs: %v %s", err, out)
	}
	// the check is real: without proxy support OpenSSL refuses the same file
	if out, err := openssl(t, "verify", "-CAfile", p.caFile, "-untrusted", user, path); err == nil {
		t.Fatalf("openssl verify accepted a proxy without -allow_proxy_certs: %s", out)
	}
	// a proxy of the proxy (what delegation makes) verifies with the chain in the file
	pp, err := NewProxy(proxy, Options{Lifetime: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	path2 := filepath.Join(p.dir, "x509up2")
	if err := WriteFile(path2, pp); err != nil {
		t.Fatal(err)
	}
	if out, err := openssl(t, "verify", "-allow_proxy_certs", "-CAfile", p.caFile, "-untrusted", path2, path2); err != nil {
		t.Fatalf("proxy of proxy: %v %s", err, out)
	}
	// and the file has the Globus layout: cert, key, chain; mode 0600
	st, _ := os.Stat(path2)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path2)
	var types []string
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		types = append(types, blk.Type)
	}
	if strings.Join(types, ",") != "CERTIFICATE,RSA PRIVATE KEY,CERTIFICATE,CERTIFICATE" {
		t.Errorf("layout %v", types)
	}
}

func TestProxyShape(t *testing.T) {
	p := newPKI(t, 24*time.Hour)
	now := time.Now().Truncate(time.Second) // certificates carry whole seconds
	proxy, err := NewProxy(p.user, Options{Lifetime: 2 * time.Hour, Bits: 1024, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c := proxy.Cert
	if got := proxy.Kind(); got != RFC3820 {
		t.Errorf("kind %q", got)
	}
	if !extendsByCN(c.RawSubject, p.user.Cert.RawSubject) || !bytes.Equal(c.RawIssuer, p.user.Cert.RawSubject) {
		t.Errorf("subject %s issuer %s", GridName(c.RawSubject), GridName(c.RawIssuer))
	}
	if want := "/DC=org/DC=example/O=Grid/CN=Jane Doe/CN=" + c.SerialNumber.String(); GridName(c.RawSubject) != want {
		t.Errorf("subject %q, want %q", GridName(c.RawSubject), want)
	}
	if proxy.Identity() != "/DC=org/DC=example/O=Grid/CN=Jane Doe" {
		t.Errorf("identity %q", proxy.Identity())
	}
	if c.NotAfter.Sub(now) != 2*time.Hour || now.Sub(c.NotBefore) != Skew {
		t.Errorf("validity %s .. %s (now %s)", c.NotBefore, c.NotAfter, now)
	}
	if c.IsCA || c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Errorf("a proxy must not be a CA")
	}
	critical := false
	for _, e := range c.Extensions {
		if e.Id.Equal(OIDProxyCertInfo) {
			critical = e.Critical
		}
	}
	if !critical {
		t.Errorf("proxyCertInfo missing or not critical")
	}
	if k := proxy.Key.(*rsa.PrivateKey); k.N.BitLen() != 1024 {
		t.Errorf("key %d bits", k.N.BitLen())
	}
	if err := proxy.Verify(now); err != nil {
		t.Errorf("verify: %v", err)
	}
	lim, err := NewProxy(p.user, Options{Limited: true})
	if err != nil || lim.Kind() != RFC3820Limit {
		t.Fatalf("limited: %v %v", err, lim.Kind())
	}
	if _, err := NewProxy(lim, Options{}); err == nil {
		t.Errorf("a limited proxy signed a full proxy")
	}
}

func TestLifetimeCutToSigner(t *testing.T) {
	p := newPKI(t, 3*time.Hour)
	proxy, err := NewProxy(p.user, Options{Lifetime: 12 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !proxy.Cert.NotAfter.Equal(p.user.Cert.NotAfter) {
		t.Errorf("proxy ends %s, user cert %s", proxy.Cert.NotAfter, p.user.Cert.NotAfter)
	}
	if _, err := NewProxy(p.user, Options{Now: func() time.Time { return time.Now().Add(4 * time.Hour) }}); err == nil {
		t.Errorf("an expired user certificate signed a proxy")
	} else {
		var exp *ExpiredError
		if !errors.As(err, &exp) {
			t.Errorf("want ExpiredError, got %v", err)
		}
	}
}

func TestVerifyCatchesBrokenCredentials(t *testing.T) {
	p := newPKI(t, 24*time.Hour)
	other := newPKI(t, 24*time.Hour)
	proxy, _ := NewProxy(p.user, Options{})
	now := time.Now()
	cases := map[string]struct {
		c    *Credential
		want string
	}{
		"wrong key":      {&Credential{Cert: proxy.Cert, Key: p.user.Key, Chain: proxy.Chain}, "does not belong"},
		"no chain":       {&Credential{Cert: proxy.Cert, Key: proxy.Key}, "without the certificate that signed it"},
		"foreign signer": {&Credential{Cert: proxy.Cert, Key: proxy.Key, Chain: []*x509.Certificate{other.user.Cert}}, "not signed by"},
		"expired":        {proxy, "expired"},
	}
	for name, tc := range cases {
		at := now
		if name == "expired" {
			at = now.Add(13 * time.Hour)
		}
		err := tc.c.Verify(at)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

func TestSignRequestForDelegation(t *testing.T) {
	p := newPKI(t, 24*time.Hour)
	proxy, _ := NewProxy(p.user, Options{Lifetime: time.Hour})
	// a CE's request: fresh key, empty subject (as A-REX sends)
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	if err != nil {
		t.Fatal(err)
	}
	chainPEM, err := SignRequest(proxy, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}), Options{Lifetime: 10 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := parseCerts(chainPEM)
	if err != nil || len(certs) != 3 {
		t.Fatalf("chain: %v, %d certificates", err, len(certs))
	}
	d := &Credential{Cert: certs[0], Key: k, Chain: certs[1:]}
	if err := d.Verify(time.Now()); err != nil {
		t.Fatalf("delegated credential: %v", err)
	}
	if !d.Cert.NotAfter.Equal(proxy.Cert.NotAfter) {
		t.Errorf("delegated proxy outlives its signer: %s > %s", d.Cert.NotAfter, proxy.Cert.NotAfter)
	}
	// the CE keeps the key; the file A-REX would write verifies with OpenSSL
	kb, _ := marshalKey(k)
	path := filepath.Join(p.dir, "delegated")
	_ = os.WriteFile(path, append(append([]byte{}, chainPEM...), pem.EncodeToMemory(kb)...), 0o600)
	if out, err := openssl(t, "verify", "-allow_proxy_certs", "-CAfile", p.caFile, "-untrusted", path, path); err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	// a tampered request is refused
	bad := append([]byte{}, csrDER...)
	bad[len(bad)-5] ^= 0xff
	if _, err := SignRequest(proxy, bad, Options{}); err == nil {
		t.Errorf("signed a request with a bad signature")
	}
	if _, err := SignRequest(proxy, []byte("garbage"), Options{}); err == nil || !strings.Contains(err.Error(), "delegation request") {
		t.Errorf("garbage request: %v", err)
	}
}

// TestLoadUserKeyFormats reads keys in the formats users have, written by
// OpenSSL itself, with and without passphrases.
func TestLoadUserKeyFormats(t *testing.T) {
	p := newPKI(t, 24*time.Hour)
	cert, plain := filepath.Join(p.dir, "usercert.pem"), filepath.Join(p.dir, "userkey.pem")
	pw := "s3cret pass"
	pwFile := filepath.Join(p.dir, "pw")
	_ = os.WriteFile(pwFile, []byte(pw), 0o600)
	files := map[string][]string{
		"pkcs8.pem":        {"pkey", "-in", plain, "-out", filepath.Join(p.dir, "pkcs8.pem")},
		"pkcs8-enc.pem":    {"pkey", "-in", plain, "-aes256", "-passout", "file:" + pwFile, "-out", filepath.Join(p.dir, "pkcs8-enc.pem")},
		"legacy-enc.pem":   {"rsa", "-in", plain, "-traditional", "-aes256", "-passout", "file:" + pwFile, "-out", filepath.Join(p.dir, "legacy-enc.pem")},
		"legacy-3des.pem":  {"rsa", "-in", plain, "-traditional", "-des3", "-passout", "file:" + pwFile, "-out", filepath.Join(p.dir, "legacy-3des.pem")},
		"usercred.p12":     {"pkcs12", "-export", "-in", cert, "-inkey", plain, "-passout", "file:" + pwFile, "-out", filepath.Join(p.dir, "usercred.p12")},
		"usercred-nop.p12": {"pkcs12", "-export", "-in", cert, "-inkey", plain, "-passout", "pass:", "-out", filepath.Join(p.dir, "usercred-nop.p12")},
	}
	for name, args := range files {
		if out, err := openssl(t, args...); err != nil {
			t.Fatalf("openssl %s: %v %s", name, err, out)
		}
	}
	asked := 0
	pass := func(string) ([]byte, error) { asked++; return []byte(pw), nil }
	wrong := func(string) ([]byte, error) { return []byte("nope"), nil }
	for _, tc := range []struct {
		cert, key string
		encrypted bool
	}{
		{cert, plain, false}, {cert, "pkcs8.pem", false}, {cert, "pkcs8-enc.pem", true}, {cert, "legacy-enc.pem", true},
		{cert, "legacy-3des.pem", true}, {"usercred.p12", "", true}, {"usercred-nop.p12", "", false},
	} {
		c, k := tc.cert, tc.key
		if !filepath.IsAbs(c) {
			c = filepath.Join(p.dir, c)
		}
		if k != "" && !filepath.IsAbs(k) {
			k = filepath.Join(p.dir, k)
		}
		asked = 0
		cred, err := LoadUserCredential(c, k, pass)
		if err != nil {
			t.Errorf("%s %s: %v", tc.cert, tc.key, err)
			continue
		}
		if !cred.Cert.Equal(p.user.Cert) || !cred.Key.Public().(*rsa.PublicKey).Equal(p.user.Key.Public()) {
			t.Errorf("%s %s: wrong credential", tc.cert, tc.key)
		}
		if (asked > 0) != tc.encrypted {
			t.Errorf("%s %s: passphrase asked %d times, encrypted=%v", tc.cert, tc.key, asked, tc.encrypted)
		}
		if tc.encrypted {
			if _, err := LoadUserCredential(c, k, wrong); !errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("%s %s with a wrong passphrase: %v", tc.cert, tc.key, err)
			}
			if _, err := LoadUserCredential(c, k, nil); !errors.Is(err, ErrNeedPassphrase) {
				t.Errorf("%s %s without a passphrase: %v", tc.cert, tc.key, err)
			}
		}
	}
	// a key of someone else
	other := newPKI(t, time.Hour)
	if _, err := LoadUserCredential(cert, filepath.Join(other.dir, "userkey.pem"), nil); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("mismatched key: %v", err)
	}
	if _, err := LoadUserCredential(filepath.Join(p.dir, "missing.pem"), plain, nil); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing cert: %v", err)
	}
}

func TestParseProxyErrors(t *testing.T) {
	p := newPKI(t, time.Hour)
	proxy, _ := NewProxy(p.user, Options{})
	good, _ := proxy.FilePEM()
	back, err := ParseProxy(good)
	if err != nil || !back.Cert.Equal(proxy.Cert) || len(back.Chain) != 1 {
		t.Fatalf("round trip: %v", err)
	}
	certOnly := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Cert.Raw})
	for name, b := range map[string][]byte{"empty": nil, "cert only": certOnly, "garbage": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")} {
		if _, err := ParseProxy(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCertKindLegacy(t *testing.T) {
	p := newPKI(t, time.Hour)
	for cn, want := range map[string]Kind{"proxy": LegacyProxy, "limited proxy": LegacyLimited, "Jane": EndEntity} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: userName(cn), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.user.Cert, k.Public(), p.user.Key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		if got := CertKind(c); got != want {
			t.Errorf("CN=%s: %q, want %q", cn, got, want)
		}
	}
}

func TestGridName(t *testing.T) {
	name := pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "CH"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "CERN"}},
		{{Type: oidCommonName, Value: "jdoe"}, {Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: "jdoe"}},
		{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "j@example.org"}},
		{{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: "x"}},
	}
	raw, _ := asn1.Marshal(name)
	if got, want := GridName(raw), "/C=CH/O=CERN/CN=jdoe+UID=jdoe/emailAddress=j@example.org/1.2.3.4=x"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCertPoolReadsGridCADirectory(t *testing.T) {
	p := newPKI(t, time.Hour)
	dir := t.TempDir()
	caPEM, _ := os.ReadFile(p.caFile)
	_ = os.WriteFile(filepath.Join(dir, "1a2b3c4d.0"), caPEM, 0o644)
	_ = os.WriteFile(filepath.Join(dir, "1a2b3c4d.signing_policy"), []byte("access_id_CA X509 '/CN=x'"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "TestCA-key.pem"), caPEM, 0o600) // skipped by name
	_ = os.WriteFile(filepath.Join(dir, "other.pem"), caPEM, 0o644)
	_ = os.Symlink("/nonexistent", filepath.Join(dir, "deadbeef.1"))
	pool, n, err := CertPool(dir)
	if err != nil || n != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if _, err := p.user.Cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("user cert does not verify against the loaded pool: %v", err)
	}
	if _, n, err := CertPool(filepath.Join(dir, "missing")); err != nil || n != 0 {
		t.Errorf("missing dir: %d %v", n, err)
	}
}

var _ crypto.Signer = (*rsa.PrivateKey)(nil)
