package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testissuer"
)

// sigtermBinary builds cmd/cesub into a folder the test removes (signals
// need a process of their own).
func sigtermBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cesub")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cesub/cesub/cmd/cesub").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// hangingAREX is a FAKE A-REX that creates job sigJob1 but hangs, without
// answering, on the request stage names ("create", "upload" or "status")
// until the test ends; reached is closed when the hang starts. Stage "slow
// create" answers the creation after 600 ms and hangs on the upload.
func hangingAREX(t *testing.T, stage string) (url, caDir string, reached chan struct{}) {
	t.Helper()
	reached = make(chan struct{})
	var once sync.Once
	release := make(chan struct{})
	srv, caDir := fakeAREX(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var s string
			switch q := r.URL.Query().Get("action"); {
			case q == "new":
				s = "create"
			case r.Method == http.MethodPut:
				s = "upload"
			case q == "status":
				s = "status"
			case q == "kill":
				s = "kill"
			case q == "" && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/jobs"):
				s = "sync"
			}
			if stage == "slow create" && s == "create" {
				// answered 600 ms after the hang starts; SIGTERM comes at 300 ms
				once.Do(func() { close(reached) })
				time.Sleep(600 * time.Millisecond)
				h.ServeHTTP(w, r)
				return
			}
			switch {
			case s == stage || stage == "slow create" && s == "upload":
			case s == "upload":
				w.WriteHeader(http.StatusCreated)
				return
			default:
				h.ServeHTTP(w, r)
				return
			}
			once.Do(func() { close(reached) })
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(2 * time.Minute):
			}
		})
	}, "sigJob1")
	t.Cleanup(func() { close(release) }) // runs before srv.Close (cleanups run last first)
	return srv.URL + "/arex", caDir, reached
}

// TestOneSIGTERMStopsWithin2s: a command stuck on a CE that does not
// answer (while creating the job, uploading its input, asking a status,
// killing or listing jobs) exits within 2 s of one SIGTERM with 143, and a job the CE
// created before, or whose creation it answers within the grace, is on the
// job list. Built binary against a FAKE A-REX.
func TestOneSIGTERMStopsWithin2s(t *testing.T) {
	bin := sigtermBinary(t)
	for _, c := range []struct {
		stage    string
		recorded bool
	}{{"create", false}, {"slow create", true}, {"upload", true}, {"status", true}, {"kill", true}, {"sync", false}} {
		t.Run(c.stage, func(t *testing.T) {
			ceURL, caDir, reached := hangingAREX(t, c.stage)
			work := t.TempDir()
			list := filepath.Join(work, "jobs.db")
			tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{ceURL[:len(ceURL)-len("/arex")]},
				Scope: "compute.create compute.read", Lifetime: time.Hour})
			env := append(os.Environ(), "BEARER_TOKEN="+tok, "HOME="+work, "XDG_CONFIG_HOME="+work, "XDG_RUNTIME_DIR="+work)
			args := []string{"submit", "-e", "&(executable=run.sh)", "-j", list, "--ca-dir", caDir, "-C", ceURL, "--timeout", "10m"}
			if err := os.WriteFile(filepath.Join(work, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if later, ok := map[string][]string{"status": {"status", "-a"}, "kill": {"kill", "-a"}, "sync": {"sync", "-C", ceURL}}[c.stage]; ok {
				if c.stage != "sync" {
					submitFirst(t, bin, work, env, args)
				}
				args = append(later, "-j", list, "--ca-dir", caDir, "--timeout", "10m")
			}
			elapsed, code, stderr := termWhenReached(t, bin, work, env, args, reached)
			if code != 143 || elapsed > 2*time.Second {
				t.Errorf("exit %d %s after SIGTERM; want 143 within 2 s\n%s", code, elapsed, stderr)
			}
			t.Logf("exit %d %s after SIGTERM\n%s", code, elapsed.Round(time.Millisecond), stderr)
			if got := recordedIDs(t, list); (len(got) == 1) != c.recorded {
				t.Errorf("job list holds %q; want the created job recorded: %v\n%s", got, c.recorded, stderr)
			}
		})
	}
}

func submitFirst(t *testing.T, bin, dir string, env, args []string) {
	t.Helper()
	r := exec.Command(bin, args...)
	r.Dir, r.Env = dir, env
	if out, err := r.CombinedOutput(); err != nil {
		t.Fatalf("submit first: %v\n%s", err, out)
	}
}

// termWhenReached runs bin, sends one SIGTERM when the fake CE says it is
// hanging, and returns how long the process took to exit after it.
func termWhenReached(t *testing.T, bin, dir string, env, args []string, reached chan struct{}) (time.Duration, int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case <-reached:
	case err := <-exited:
		t.Fatalf("cesub ended before the CE hung: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the CE was never reached\n%s", stderr.String())
	}
	time.Sleep(300 * time.Millisecond) // let it settle in the blocking wait
	sent := time.Now()
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		elapsed := time.Since(sent)
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return elapsed, cmd.ProcessState.ExitCode(), stderr.String()
	case <-time.After(60 * time.Second):
		t.Fatalf("cesub still running 60 s after SIGTERM\n%s", stderr.String())
	}
	return 0, 0, ""
}

func recordedIDs(t *testing.T, list string) []string {
	t.Helper()
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, err := st.List(context.Background(), jobstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.LocalID)
	}
	return ids
}
