package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testissuer"
)

// TestFIFOInputRefusedBeforeAnythingIsSent: an input file that is a FIFO
// (or a device) is refused before the CE is asked to create the job; it
// used to create the job and then block in open() for good. Against a FAKE
// A-REX that counts job creations and uploads.
func TestFIFOInputRefusedBeforeAnythingIsSent(t *testing.T) {
	var created, uploads atomic.Int32
	srv, caDir := fakeAREX(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("action") == "new" {
				created.Add(1)
			}
			if r.Method == http.MethodPut {
				uploads.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	}, "fifoJob1")
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.create compute.read", Lifetime: time.Hour})
	work := t.TempDir()
	fifo := filepath.Join(work, "in.dat")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	for name, input := range map[string]string{"FIFO": "in.dat", "device": "/dev/zero"} {
		desc := filepath.Join(work, name+".xrsl")
		xrsl := `&(executable=/bin/cat)(arguments=in.dat)(inputfiles=("in.dat" "` + map[string]string{"FIFO": "", "device": input}[name] + `"))`
		if err := os.WriteFile(desc, []byte(xrsl), 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan result, 1)
		go func() {
			done <- run(t, map[string]string{"BEARER_TOKEN": tok}, "submit", "-f", desc, "-j", filepath.Join(work, "jobs.db"),
				"--ca-dir", caDir, "-C", srv.URL+"/arex", "--timeout", "20s")
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(60 * time.Second):
			unblock(fifo)
			t.Fatalf("%s input: submit still blocked after 60 s (jobs created: %d)", name, created.Load())
		}
		if r.code == 0 || !strings.Contains(r.err, "not a regular file") || !strings.Contains(r.err, "nothing was submitted") {
			t.Errorf("%s input: exit %d, stderr %q; want it refused as not a regular file", name, r.code, r.err)
		}
		if n, u := created.Load(), uploads.Load(); n != 0 || u != 0 {
			t.Errorf("%s input: the CE was asked to create %d jobs and got %d uploads; want none", name, n, u)
		}
	}
}

// unblock opens a FIFO for writing and closes it, so that a reader blocked
// in open() goes on (and sees end of file).
func unblock(fifo string) {
	if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}
