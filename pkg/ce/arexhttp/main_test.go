package arexhttp

import (
	"os"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
)

// TestMain registers the A-REX addressing the REST flavour registers (this
// package is shared by the flavours and imports none of them), so that the
// tests parse https:// CE addresses as the CLI does.
func TestMain(m *testing.M) {
	ce.Backends.Register(ce.RegInfo{Flavour: ce.ARC, Schemes: []string{"https"}, URLScheme: "https", DefaultPort: 443,
		DefaultPath: "/arex", Default: true, Audiences: Audiences, Scopes: Scopes})
	os.Exit(m.Run())
}
