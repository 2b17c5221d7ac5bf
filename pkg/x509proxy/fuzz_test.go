package x509proxy

import (
	"testing"
	"time"
)

// FuzzParseProxy: any bytes give a credential or an error, never a panic;
// a credential's key always matches its certificate.
func FuzzParseProxy(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseProxy(b)
		if err != nil {
			return
		}
		if err := keyMatches(c.Cert, c.Key); err != nil {
			t.Fatalf("parsed a credential whose key does not match: %v", err)
		}
		_ = c.Verify(time.Now())
		_ = c.Identity()
	})
}
