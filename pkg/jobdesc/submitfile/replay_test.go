package submitfile

import (
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// TestStepReplay: a proc whose commands read the same as the previous
// proc's still gets its own attributes where what earlier steps worked out
// differs (the initial directory, the universe) or commands were added.
func TestStepReplay(t *testing.T) {
	src := []byte(`executable = run.sh
initialdir = /w/$(d)
universe = $(u)
x509userproxy = proxy.pem
+A = 1
queue d, u from (
  a, vanilla
  a, vanilla
  b, vanilla
  b, local
)
d = b
u = local
+B = "two"
queue 2
`)
	f, err := Parse("r.sub", src, ParseOptions{Options: Options{Dir: "/sub", Env: func(string) string { return "" }, Now: time.Unix(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Procs) != 6 {
		t.Fatalf("%d procs", len(f.Procs))
	}
	want := []struct{ cmd, proxy, req string }{
		{"/w/a/run.sh", "/w/a/proxy.pem", "Arch"}, {"/w/a/run.sh", "/w/a/proxy.pem", "Arch"},
		{"/w/b/run.sh", "/w/b/proxy.pem", "Arch"}, {"/w/b/run.sh", "/w/b/proxy.pem", ""},
		{"/w/b/run.sh", "/w/b/proxy.pem", ""}, {"/w/b/run.sh", "/w/b/proxy.pem", ""},
	}
	for i, p := range f.Procs {
		cmd, _ := p.Ad.Str("Cmd")
		proxy, _ := p.Ad.Str("x509userproxy")
		if cmd != want[i].cmd || proxy != want[i].proxy {
			t.Errorf("proc %d: Cmd %q x509userproxy %q, want %q %q", i, cmd, proxy, want[i].cmd, want[i].proxy)
		}
		req, _ := p.Ad.Get("Requirements")
		if hasArch := req != nil && classad.Unparse(req) != "true"; hasArch != (want[i].req != "") {
			t.Errorf("proc %d: Requirements %v", i, req)
		}
		if _, ok := p.Ad.Get("A"); !ok {
			t.Errorf("proc %d has no A", i)
		}
		if _, ok := p.Ad.Get("B"); ok != (i >= 4) {
			t.Errorf("proc %d: B present %v", i, ok)
		}
	}
}
