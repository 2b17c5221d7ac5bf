package endpoints

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	_ "github.com/cesub/cesub/pkg/ce/arcrest" // the flavours register their addresses
	_ "github.com/cesub/cesub/pkg/ce/emies"
	_ "github.com/cesub/cesub/pkg/ce/htcondor"
)

func TestParse(t *testing.T) {
	src := `defaults:
  site: S
  vo: wlcg
  token: {source: oidc-agent, account: wlcg}
  job: {file: hello.xrsl, expect: hi}
endpoints:
  - ce: ce1.example.org
  - name: second
    ce: condor://ce2.example.org
    vo: atlas
    token: {source: file, file: tok}
    job: {file: /abs/job.sub, timeout: 2m}
`
	f, err := Parse("/etc/cesub/eps.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Endpoints[0], f.Endpoints[1]
	if a.Name != "https://ce1.example.org:443/arex" || a.Address.Flavour != ce.ARC || a.Site != "S" || a.VO != "wlcg" ||
		a.Token.Source != "oidc-agent" || a.Job.File != "/etc/cesub/hello.xrsl" || a.Job.Timeout != 10*time.Minute || a.Line != 7 {
		t.Errorf("first: %+v %+v", a, a.Job)
	}
	if b.Address.Flavour != ce.HTCondor || b.VO != "atlas" || b.Token.File != "/etc/cesub/tok" || b.Job.File != "/abs/job.sub" ||
		b.Job.Timeout != 2*time.Minute || b.Job.Expect != "" || b.Line != 8 {
		t.Errorf("second: %+v %+v", b, b.Job)
	}
	for _, tc := range []struct{ src, want string }{
		{"endpoints:\n  - ce: x\n    colour: red\n", "eps.yaml:3:5: unknown key \"colour\""},
		{"defaults:\n  tokn: {}\nendpoints: []\n", "eps.yaml:2:3: unknown key \"tokn\""},
		{"endpoints:\n  - ce: x\n    token: {source: file, fil: y}\n", "unknown key \"fil\""},
		{"endpoints:\n  - name: a\n", "eps.yaml:2: endpoint 1 has no 'ce'"},
		{"endpoints: []\n", "no endpoints"},
		{"endpoints:\n  - ce: x\n    token: {source: vault}\n", "want discovery, device, file, oidc-agent or client-credentials"},
		{"endpoints:\n  - ce: x\n    token: {source: file}\n", "needs 'file'"},
		{"endpoints:\n  - ce: x\n    token: {source: client-credentials, issuer: i}\n", "needs 'issuer', 'client-id' and 'secret-file'"},
		{"endpoints:\n  - ce: http://x\n", "plain http is refused"},
		{"endpoints:\n  - ce: x\n  - ce: x\n", "also on line 2"},
		{"endpoints:\n  - ce: x\n    job: {expect: y}\n", "'job' needs 'file'"},
		{"endpoints:\n  - ce: [x\n", "eps.yaml"},
		{"endpoints:\n  - ce: x\n    job: {file: j, timeout: soon}\n", "eps.yaml"},
	} {
		if _, err := Parse("eps.yaml", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestDeviceSource: token.source device (the device login's token) is accepted.
func TestDeviceSource(t *testing.T) {
	f, err := Parse("eps.yaml", []byte("endpoints:\n  - ce: x\n    token: {source: device}\n"))
	if err != nil || f.Endpoints[0].Token.Source != "device" {
		t.Fatalf("source device: %v", err)
	}
}

// The example files in the repository read.
func TestExamplesRead(t *testing.T) {
	for _, name := range []string{"endpoints.yaml", "endpoints-testbed.yaml"} {
		p := filepath.Join("..", "..", "examples", name)
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
		f, err := Read(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(f.Endpoints) < 4 {
			t.Errorf("%s: %d endpoints", name, len(f.Endpoints))
		}
	}
}
