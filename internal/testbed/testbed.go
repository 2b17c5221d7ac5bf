// Package testbed lets integration tests use the real local testbed (token
// issuer, A-REX, oidc-agent) that scripts/testbed brings up: it starts it when
// it is not running (serialised across test processes by a file lock), reads
// its `env`, and decides whether a test may skip. Under CI=true nothing skips:
// a testbed that cannot run fails the test.
package testbed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Env is the running testbed's settings (the exports of `scripts/testbed/all env`).
type Env struct {
	Root string
	Vars map[string]string
}

// Get returns a testbed variable, failing the test if it is missing.
func (e *Env) Get(t testing.TB, k string) string {
	t.Helper()
	v, ok := e.Vars[k]
	if !ok || v == "" {
		t.Fatalf("testbed env has no %s", k)
	}
	return v
}

var (
	once    sync.Once
	shared  *Env
	failure error
	skipWhy string
)

// RepoRoot finds the module root from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Require returns the running testbed, bringing it up if needed. Outside CI it
// skips with a one-line reason when the machine cannot run it (not root, not Debian).
func Require(t testing.TB) *Env {
	t.Helper()
	once.Do(setup)
	if skipWhy != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("integration test cannot run under CI=true: %s", skipWhy)
		}
		t.Skip("integration: " + skipWhy)
	}
	if failure != nil {
		t.Fatalf("testbed: %v", failure)
	}
	return shared
}

func setup() {
	if os.Getenv("CESUB_SKIP_INTEGRATION") == "1" && os.Getenv("CI") != "true" {
		skipWhy = "CESUB_SKIP_INTEGRATION=1"
		return
	}
	if os.Geteuid() != 0 {
		skipWhy = "needs root to install and run A-REX and oidc-agent (run scripts/test.sh as root)"
		return
	}
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		skipWhy = "needs Debian (the testbed uses Debian's nordugrid-arc-arex and oidc-agent-cli)"
		return
	}
	root, err := RepoRoot()
	if err != nil {
		failure = err
		return
	}
	// One process at a time brings the testbed up; go test runs packages in parallel.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "cesub-testbed.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		failure = err
		return
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		failure = fmt.Errorf("lock: %w", err)
		return
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	script := filepath.Join(root, "scripts", "testbed", "all")
	if err := exec.Command(script, "status").Run(); err != nil {
		out, err := exec.Command(script, "up").CombinedOutput()
		if err != nil {
			failure = fmt.Errorf("%s up: %v\n%s", script, err, out)
			return
		}
	}
	out, err := exec.Command(script, "env").Output()
	if err != nil {
		failure = fmt.Errorf("%s env: %w", script, err)
		return
	}
	shared = &Env{Root: root, Vars: ParseExports(out)}
}

// ParseExports reads `export K='V'` lines.
func ParseExports(b []byte) map[string]string {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		vars[k] = strings.Trim(v, `'"`)
	}
	return vars
}
