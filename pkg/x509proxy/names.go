package x509proxy

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
)

var shortNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.42":                   "GN",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "emailAddress",
}

// GridName renders a DER-encoded X.509 name the way grid tools print and
// match it (OpenSSL's legacy one-line form): /DC=org/DC=example/CN=Jane Doe,
// RDNs in encoding order, multi-valued RDNs joined by '+'.
func GridName(raw []byte) string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(raw, &seq); err != nil {
		return fmt.Sprintf("<unparsable name: %v>", err)
	}
	var b strings.Builder
	for _, rdn := range seq {
		b.WriteByte('/')
		for i, atv := range rdn {
			if i > 0 {
				b.WriteByte('+')
			}
			k := shortNames[atv.Type.String()]
			if k == "" {
				k = atv.Type.String()
			}
			fmt.Fprintf(&b, "%s=%v", k, atv.Value)
		}
	}
	return b.String()
}
