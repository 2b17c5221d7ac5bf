package arexhttp

import (
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
)

// summarise reads a REST info document (testdata: what A-REX 6.17 on the
// testbed answers, fork LRMS, one queue) after edit.
func summarise(t *testing.T, edit func(string) string) *ce.Info {
	t.Helper()
	b, err := os.ReadFile("testdata/arex-6.17-info-glue2.xml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services []GLUE2Service `xml:"Domains>AdminDomain>Services>ComputingService"`
	}
	if err := xml.Unmarshal([]byte(edit(string(b))), &doc); err != nil {
		t.Fatal(err)
	}
	return SummariseGLUE2("https://ce/arex", doc.Services, "org.nordugrid.arcrest")
}

func TestSummariseGLUE2ForBrokers(t *testing.T) {
	in := summarise(t, func(s string) string { return s })
	if len(in.Queues) != 1 {
		t.Fatalf("queues %+v", in.Queues)
	}
	q := in.Queues[0]
	all := ce.CountRunning | ce.CountWaiting | ce.CountTotalSlots | ce.CountFreeSlots
	if !in.GLUE2 || in.HealthState != "ok" || in.MainMemoryMB != 999999999 || q.Name != "fork" || q.TotalSlots != 2 || q.FreeSlots != 2 ||
		q.WaitingJobs != 0 || !q.Published.Has(all) {
		t.Errorf("info %+v queue %+v", in, q)
	}
	// what a CE leaves out is not published, and a critical endpoint says so
	in = summarise(t, func(s string) string {
		s = strings.Replace(s, "<FreeSlots>2</FreeSlots>", "", 1)
		s = strings.Replace(s, "<TotalSlots>2</TotalSlots>", "<TotalSlots>-1</TotalSlots>", 1)
		i := strings.Index(s, "<InterfaceName>org.nordugrid.arcrest</InterfaceName>")
		return s[:i] + strings.Replace(s[i:], "<HealthState>ok</HealthState>", "<HealthState>critical</HealthState>", 1)
	})
	q = in.Queues[0]
	if q.Published.Has(ce.CountFreeSlots) || q.Published.Has(ce.CountTotalSlots) || !q.Published.Has(ce.CountWaiting) || in.HealthState != "critical" {
		t.Errorf("info %+v queue %+v", in, q)
	}
	// runtime environments as NAME-VERSION
	in = summarise(t, func(s string) string {
		return strings.Replace(s, "<ApplicationEnvironments>", `<ApplicationEnvironments><ApplicationEnvironment><AppName>APPS/HEP/ATLAS</AppName>`+
			`<AppVersion>20.1</AppVersion></ApplicationEnvironment><ApplicationEnvironment><AppName>ENV/PROXY</AppName></ApplicationEnvironment>`, 1)
	})
	if got := strings.Join(in.RuntimeEnvironments, " "); got != "APPS/HEP/ATLAS-20.1 ENV/PROXY" {
		t.Errorf("RTEs %q", got)
	}
}
