package ce_test

import (
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
	_ "github.com/cesub/cesub/pkg/ce/arcrest" // the flavours register their addressing
	_ "github.com/cesub/cesub/pkg/ce/emies"
	_ "github.com/cesub/cesub/pkg/ce/htcondor"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in      string
		flavour ce.Flavour
		want    string // URL()
		wantF   ce.Flavour
		err     string
	}{
		{in: "ce.example.org", want: "https://ce.example.org:443/arex", wantF: ce.ARC},
		{in: "ce.example.org:8443", want: "https://ce.example.org:8443/arex", wantF: ce.ARC},
		{in: "ce.example.org:9619", want: "condor://ce.example.org:9619", wantF: ce.HTCondor},
		{in: "https://ce.example.org/arex", want: "https://ce.example.org:443/arex", wantF: ce.ARC},
		{in: "https://ce.example.org:8444/arex/", want: "https://ce.example.org:8444/arex/", wantF: ce.ARC},
		{in: "https://ce.example.org:8444/", want: "https://ce.example.org:8444/arex", wantF: ce.ARC},
		{in: "arcrest://ce.example.org", want: "https://ce.example.org:443/arex", wantF: ce.ARC},
		{in: "emies://ce.example.org:8443/arex", want: "https://ce.example.org:8443/arex", wantF: ce.EMIES},
		{in: "condor://ce.example.org", want: "condor://ce.example.org:9619", wantF: ce.HTCondor},
		{in: "htcondor://ce.example.org:9620", want: "condor://ce.example.org:9620", wantF: ce.HTCondor},
		{in: "ce.example.org/custom", want: "https://ce.example.org:443/custom", wantF: ce.ARC},
		{in: "[::1]:8444", want: "https://[::1]:8444/arex", wantF: ce.ARC},
		{in: "ce.example.org", flavour: ce.EMIES, want: "https://ce.example.org:443/arex", wantF: ce.EMIES},
		{in: "ce.example.org:9619", flavour: ce.ARC, want: "https://ce.example.org:9619/arex", wantF: ce.ARC},
		{in: "", err: "empty"},
		{in: "gsiftp://ce.example.org", err: "unknown scheme"},
		{in: "ce.example.org:0", err: "bad port"},
		{in: "ce.example.org:99999", err: "bad port"},
		{in: "ce.example.org:http", err: "bad port"},
		{in: "https://:8443/arex", err: "no host"},
		{in: "ce.example.org", flavour: "slurm", err: "unknown CE flavour \"slurm\" (want arc, emies, htcondor)"},
		{in: "http://ce.example.org", err: "plain http is refused"},
		{in: "gsiftp://ce.example.org", err: "want https, arcrest, arc, emies, condor, htcondor"},
	} {
		a, err := ce.ParseAddress(tc.in, tc.flavour)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if a.URL() != tc.want || a.Flavour != tc.wantF {
			t.Errorf("%q (%s): %s %s, want %s %s", tc.in, tc.flavour, a.URL(), a.Flavour, tc.want, tc.wantF)
		}
	}
}

func TestAudiences(t *testing.T) {
	a, _ := ce.ParseAddress("ce.example.org", "")
	if got := strings.Join(a.Audiences(), " "); got != "https://ce.example.org:443 https://ce.example.org" {
		t.Errorf("ARC on 443: %s", got)
	}
	a, _ = ce.ParseAddress("ce.example.org:8443", "")
	if got := strings.Join(a.Audiences(), " "); got != "https://ce.example.org:8443" {
		t.Errorf("ARC on 8443: %s", got)
	}
	a, _ = ce.ParseAddress("condor://ce.example.org", "")
	if got := strings.Join(a.Audiences(), " "); got != "ce.example.org:9619 condor://ce.example.org:9619" {
		t.Errorf("HTCondor-CE: %s", got)
	}
}
