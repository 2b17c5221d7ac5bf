package htcondor

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc/format"
)

// TestPlanDelegateProxy: an HTCondor-CE's dry run shows no delegation
// request (none exists): the proxy travels in the job ad as
// x509userproxy and is spooled with the inputs; token delegation is
// refused as Delegate refuses it.
func TestPlanDelegateProxy(t *testing.T) {
	c, err := NewClient(ce.Config{Address: ce.Address{Flavour: ce.HTCondor, Host: "ce.invalid", Port: 9619},
		TLSFor: func(string) *tls.Config { return &tls.Config{} }})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.PlanDelegate(ce.DelegateX509)
	if err != nil || len(rs) != 1 || rs[0].Method != "" || !strings.Contains(rs[0].Note, "x509userproxy") {
		t.Errorf("x509: %v %+v", err, rs)
	}
	if _, err := c.PlanDelegate(ce.DelegateToken); err == nil {
		t.Error("token delegation planned")
	}
	dir := t.TempDir()
	proxy := filepath.Join(dir, "x509up_u1")
	if err := os.WriteFile(proxy, []byte("proxy"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := []byte("executable = /bin/true\nqueue\n")
	jobs, err := format.Read(format.Submit, filepath.Join(dir, "job.sub"), src, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := c.PlanSubmit(jobs, ce.SubmitOptions{BaseDir: dir, ProxyFile: proxy})
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, r := range plan {
		got.WriteString(r.Method + " " + r.URL + "\n" + r.Body + "\n")
	}
	for _, want := range []string{"QMGMT condor://ce.invalid:9619", `x509userproxy = "` + proxy + `"`, "SPOOL condor://ce.invalid:9619", proxy + " -> "} {
		if !strings.Contains(got.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, got.String())
		}
	}
}
