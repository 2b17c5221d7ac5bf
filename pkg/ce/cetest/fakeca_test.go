package cetest

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/x509proxy"
)

// CheckDelegated accepts a proxy signed over the request's key by a user
// of the CA, and names what is wrong with anything else.
func TestFakeCACheckDelegated(t *testing.T) {
	ca := NewFakeCA(t)
	user := ca.User(t, "user")
	key, csr := NewCSR(t)
	chain, err := x509proxy.SignRequest(user, csr, x509proxy.Options{Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ca.CheckDelegated(chain, key.Public()); err != nil || time.Until(p.NotAfter) > time.Hour {
		t.Fatalf("a good chain: %v", err)
	}
	otherKey, _ := NewCSR(t)
	strangerChain, err := x509proxy.SignRequest(NewFakeCA(t).User(t, "stranger"), csr, x509proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	userOnly := (&x509proxy.Credential{Cert: user.Cert}).ChainPEM()
	for name, tc := range map[string]struct {
		chain []byte
		key   any
		want  string
	}{
		"another key":  {chain, otherKey.Public(), "not for the key"},
		"another CA":   {strangerChain, key.Public(), "not from the CA"},
		"no proxy":     {userOnly, key.Public(), "want the proxy and its signer"},
		"not PEM":      {[]byte("hello"), key.Public(), "0 certificates"},
		"a key in it":  {keyPEM(t, otherKey), key.Public(), "PRIVATE KEY block"},
		"wrong signer": {append(append([]byte(nil), chain[:strings.Index(string(chain), "-----END CERTIFICATE-----")+26]...), userOnlyOf(t, ca)...), key.Public(), "not signed by"},
	} {
		if _, err := ca.CheckDelegated(tc.chain, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// userOnlyOf is the PEM certificate of another user of ca.
func userOnlyOf(t *testing.T, ca *FakeCA) []byte {
	return (&x509proxy.Credential{Cert: ca.User(t, "other").Cert}).ChainPEM()
}

// keyPEM is key as a PKCS#8 PEM block, made at test time.
func keyPEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
