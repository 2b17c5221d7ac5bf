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
	"sort"
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

// Versions returns the testbed once per version of one server: kind is the
// env prefix after CESUB_TESTBED_ ("CONDOR" or "ARC7"). The first is the
// default version itself; each other version (its variables named
// CESUB_TESTBED_<kind>_<SUITE>_…) comes as a copy whose CESUB_TESTBED_<kind>_…
// variables are that version's, so a test body written for one version runs
// unchanged against every one. The names are the suites ("trixie", "sid").
func (e *Env) Versions(kind string) (names []string, envs []*Env) {
	prefix := "CESUB_TESTBED_" + kind + "_"
	names = append(names, e.Vars[prefix+"SUITE"])
	envs = append(envs, e)
	var tags []string
	for k := range e.Vars {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || !strings.HasSuffix(rest, "_SUITE") || rest == "SUITE" {
			continue
		}
		tags = append(tags, strings.TrimSuffix(rest, "_SUITE"))
	}
	sort.Strings(tags)
	for _, tag := range tags {
		c := &Env{Root: e.Root, Vars: make(map[string]string, len(e.Vars))}
		for k, v := range e.Vars {
			c.Vars[k] = v
		}
		for k, v := range e.Vars {
			if rest, ok := strings.CutPrefix(k, prefix+tag+"_"); ok {
				c.Vars[prefix+rest] = v
			}
		}
		names = append(names, c.Vars[prefix+"SUITE"])
		envs = append(envs, c)
	}
	return names, envs
}

// EachVersion runs f as a subtest per version of one server (see Versions).
// Under CI=true both the default and a newer version must be there: CI tests
// every version it brings up, and a missing one fails rather than passes quietly.
func EachVersion(t *testing.T, e *Env, kind string, f func(t *testing.T, tb *Env)) {
	t.Helper()
	names, envs := e.Versions(kind)
	if len(envs) < 2 && os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: the testbed runs only one %s version (%s); scripts/testbed/all brings up the sid one beside it", kind, names[0])
	}
	for i := range envs {
		tb := envs[i]
		t.Run(names[i], func(t *testing.T) { f(t, tb) })
	}
}

// Postgres returns the testbed's PostgreSQL server (scripts/testbed/postgres)
// as its `env` exports (CESUB_TESTBED_POSTGRES_URL, PGPASSFILE, …), bringing
// up that one service if it is down: the job list's tests need no CE. It
// skips, or under CI=true fails, as Require does.
func Postgres(t testing.TB) map[string]string {
	t.Helper()
	pgOnce.Do(setupPostgres)
	if pgSkip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("integration test cannot run under CI=true: %s", pgSkip)
		}
		t.Skip("integration: " + pgSkip)
	}
	if pgFailure != nil {
		t.Fatalf("testbed postgres: %v", pgFailure)
	}
	return pgVars
}

var (
	pgOnce    sync.Once
	pgVars    map[string]string
	pgFailure error
	pgSkip    string
)

func setupPostgres() {
	switch {
	case os.Getenv("CESUB_SKIP_INTEGRATION") == "1" && os.Getenv("CI") != "true":
		pgSkip = "CESUB_SKIP_INTEGRATION=1"
	case os.Geteuid() != 0:
		pgSkip = "needs root to run the testbed's PostgreSQL (scripts/testbed/postgres up)"
	}
	if pgSkip != "" {
		return
	}
	root, err := RepoRoot()
	if err != nil {
		pgFailure = err
		return
	}
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "cesub-testbed.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		pgFailure = err
		return
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		pgFailure = fmt.Errorf("lock: %w", err)
		return
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	script := filepath.Join(root, "scripts", "testbed", "postgres")
	if err := exec.Command(script, "status").Run(); err != nil {
		if out, err := exec.Command(script, "up").CombinedOutput(); err != nil {
			pgFailure = fmt.Errorf("%s up: %v\n%s", script, err, out)
			return
		}
	}
	out, err := exec.Command(script, "env").Output()
	if err != nil {
		pgFailure = fmt.Errorf("%s env: %w", script, err)
		return
	}
	pgVars = ParseExports(out)
}
