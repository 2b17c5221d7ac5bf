// Package proxycmd implements `cesub proxy init|info|destroy`: RFC 3820
// X.509 proxies for CEs that want them (arcproxy / voms-proxy-init without
// VOMS, grid-proxy-info, arcproxy -r).
package proxycmd

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/x509proxy"
	"github.com/spf13/cobra"
)

// NewCmdProxy builds the `proxy` group.
func NewCmdProxy(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Make, inspect and remove X.509 proxy certificates",
		Long: `Make, inspect and remove RFC 3820 X.509 proxy certificates.

The proxy file is --proxy, else $X509_USER_PROXY, else proxypath in ARC's
client.conf, else /tmp/x509up_u<uid>. The user certificate and key are --cert
and --key, else $X509_USER_CERT and $X509_USER_KEY, else client.conf, else
~/.globus/usercert.pem and ~/.globus/userkey.pem (or ~/.globus/usercred.p12).
Proxies are written with mode 0600.

CE commands present the proxy as the TLS client certificate when no bearer
token is found (or always with --auth x509).`,
	}
	cmd.AddCommand(NewCmdInit(f, nil), NewCmdInfo(f, nil), NewCmdDestroy(f, nil))
	return cmd
}

// JSON is the schema of `proxy init|info -o json` (docs/json.md).
type JSON struct {
	Schema      string    `json:"schema"`
	Path        string    `json:"path"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Identity    string    `json:"identity"`
	Type        string    `json:"type"`
	KeyBits     int       `json:"key_bits"`
	ChainLength int       `json:"chain_length"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	SecondsLeft int64     `json:"seconds_left"`
	Valid       bool      `json:"valid"`
	Problem     string    `json:"problem,omitempty"`
}

func describe(path string, c *x509proxy.Credential, now time.Time) JSON {
	j := JSON{Schema: "cesub.proxy/v1", Path: path,
		Subject:  x509proxy.GridName(c.Cert.RawSubject),
		Issuer:   x509proxy.GridName(c.Cert.RawIssuer),
		Identity: c.Identity(), Type: string(c.Kind()),
		ChainLength: 1 + len(c.Chain), NotBefore: c.Cert.NotBefore.UTC(), NotAfter: c.NotAfter().UTC(),
		SecondsLeft: int64(c.TimeLeft(now) / time.Second)}
	switch k := c.Cert.PublicKey.(type) {
	case *rsa.PublicKey:
		j.KeyBits = k.N.BitLen()
	case *ecdsa.PublicKey:
		j.KeyBits = k.Curve.Params().BitSize
	}
	if err := c.Verify(now); err != nil {
		j.Problem = err.Error()
	} else {
		j.Valid = true
	}
	return j
}
