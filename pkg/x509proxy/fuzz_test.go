package x509proxy

import (
	"encoding/pem"
	"testing"
	"time"
)

// FuzzParseProxy: any bytes give a credential or an error, never a panic;
// a credential's key always matches its certificate.
func FuzzParseProxy(f *testing.F) {
	// shapes, not credentials: empty DER sequences in the PEM block types a proxy file holds
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA " + "PRIVATE KEY", Bytes: []byte{0x30, 0}}))
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
