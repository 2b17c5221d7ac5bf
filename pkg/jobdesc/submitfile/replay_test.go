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

// TestStepReplayReplaces: a replayed step whose attribute an earlier step
// of this proc set already (and of the recorded proc did not) replaces it,
// as running the step would, instead of adding it twice.
func TestStepReplayReplaces(t *testing.T) {
	src := []byte(`executable = run.sh
request_gpus = $(g)
+RequestGPUs = 2
+Other = 3
queue x, g from (
  a
  b, 1
  c
)
`)
	f, err := Parse("r.sub", src, ParseOptions{Options: Options{Dir: "/sub", Env: func(string) string { return "" }, Now: time.Unix(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range f.Procs {
		n := 0
		for _, a := range p.Ad.Attrs {
			if a.Name == "RequestGPUs" {
				n++
				if a.Expr != classad.Int(2) {
					t.Errorf("proc %d: RequestGPUs = %v, want 2", i, a.Expr)
				}
			}
		}
		if n != 1 {
			t.Errorf("proc %d: %d RequestGPUs attributes, want 1", i, n)
		}
		if e, _ := p.Ad.Get("Other"); e != classad.Int(3) {
			t.Errorf("proc %d: Other = %v", i, e)
		}
	}
}
