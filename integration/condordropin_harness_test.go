package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
)

// condorTools are the HTCondor tools cesub answers to (internal/cli/compat/condortools).
var condorTools = []string{"condor_submit", "condor_q", "condor_rm", "condor_hold", "condor_release", "condor_ping",
	"condor_transfer_data", "condor_history"}

// dropIn runs an HTCondor tool twice with the same arguments at the same
// moment: the real one in the testbed's HTCondor chroot (with the token,
// against the CE by -name/-pool, as bench/htcondor.sh runs it) and cesub
// under that tool's name (a link first on PATH), both in one folder that
// has the same absolute path in the chroot and on the host.
type dropIn struct {
	t                *testing.T
	root, host, pool string
	inside, dir      string // the folder, as the chroot and the host see it
	links            string // cesub's links
	env              []string
}

// run is one tool's outcome.
type run struct {
	out, err string
	code     int
}

func newDropIn(t *testing.T, tb *testbed.Env) *dropIn {
	t.Helper()
	d := &dropIn{t: t, root: tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT"), host: tb.Get(t, "CESUB_TESTBED_CONDOR_HOST")}
	d.pool = strings.TrimPrefix(tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "condor://")
	dir, err := os.MkdirTemp(filepath.Join(d.root, "tmp"), "cesub-dropin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d.dir, d.inside = dir, strings.TrimPrefix(dir, d.root)
	tok, err := os.ReadFile(tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), tok, 0o600); err != nil {
		t.Fatal(err)
	}
	d.links = t.TempDir()
	bin := cesubBinary(t)
	for _, name := range condorTools {
		if err := os.Symlink(bin, filepath.Join(d.links, name)); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	d.env = []string{"PATH=" + d.links + ":/usr/bin:/bin", "HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_RUNTIME_DIR=" + home,
		"CESUB_JOBLIST=" + filepath.Join(home, "jobs.db"), "BEARER_TOKEN_FILE=" + filepath.Join(dir, "token"),
		"X509_CERT_DIR=" + tb.Get(t, "X509_CERT_DIR"), "LANG=C.UTF-8", "TZ=UTC"}
	return d
}

// remote is -name/-pool for the CE.
func (d *dropIn) remote() []string { return []string{"-name", d.host, "-pool", d.pool} }

// file writes a file into the folder.
func (d *dropIn) file(name, text string, mode os.FileMode) {
	d.t.Helper()
	if err := os.WriteFile(filepath.Join(d.dir, name), []byte(text), mode); err != nil {
		d.t.Fatal(err)
	}
}

func (d *dropIn) realCmd(stdin string, env []string, args []string) *exec.Cmd {
	base := []string{d.root, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "TZ=UTC",
		"BEARER_TOKEN_FILE=" + d.inside + "/token", "_CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS=SCITOKENS",
		"_CONDOR_SEC_CLIENT_AUTHENTICATION=REQUIRED", "_CONDOR_SEC_CLIENT_ENCRYPTION=REQUIRED", "_CONDOR_SEC_CLIENT_INTEGRITY=REQUIRED"}
	base = append(base, env...)
	base = append(base, "sh", "-c", `cd "$0" && exec "$@"`, d.inside)
	cmd := exec.Command("chroot", append(base, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

// asPilot makes a real tool's command run as the chroot's user pilot
// (uid 1000, whom the CE maps the token to), with the folder and the token
// its own: condor_transfer_data writes the output as the job's owner, as
// it does for a user who runs it.
func (d *dropIn) asPilot(cmd *exec.Cmd) *exec.Cmd {
	d.t.Helper()
	tok, err := os.ReadFile(filepath.Join(d.dir, "token"))
	if err == nil {
		err = os.WriteFile(filepath.Join(d.dir, "token.pilot"), tok, 0o600)
	}
	if err != nil {
		d.t.Fatal(err)
	}
	_ = filepath.Walk(d.dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil && filepath.Base(p) != "token" { // cesub's (root's) token stays root's
			err = os.Lchown(p, 1000, 1000)
		}
		return err
	})
	cmd.Args = append([]string{"chroot", "--userspec=1000:1000"}, cmd.Args[1:]...)
	for i, a := range cmd.Args {
		switch a {
		case "HOME=/root":
			cmd.Args[i] = "HOME=" + d.inside
		case "BEARER_TOKEN_FILE=" + d.inside + "/token":
			cmd.Args[i] = "BEARER_TOKEN_FILE=" + d.inside + "/token.pilot"
		}
	}
	return cmd
}

func (d *dropIn) oursCmd(stdin string, env []string, args []string) *exec.Cmd {
	name := args[0]
	if !strings.Contains(name, "/") && name != "sh" {
		name = filepath.Join(d.links, name)
	}
	cmd := exec.Command(name, args[1:]...)
	cmd.Dir = d.dir
	cmd.Env = append(append([]string(nil), d.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func execute(cmd *exec.Cmd) run {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		errb.WriteString(err.Error())
	}
	return run{out.String(), errb.String(), code}
}

// both runs the real tool and cesub's at the same moment.
func (d *dropIn) both(stdin string, env []string, args ...string) (real, ours run) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); real = execute(d.realCmd(stdin, env, args)) }()
	go func() { defer wg.Done(); ours = execute(d.oursCmd(stdin, env, args)) }()
	wg.Wait()
	return real, ours
}

// real runs only the real tool (cleanup, waiting).
func (d *dropIn) real(args ...string) run { return execute(d.realCmd("", nil, args)) }

// ours runs only cesub's tool.
func (d *dropIn) ours(args ...string) run { return execute(d.oursCmd("", nil, args)) }

// with is args after the tool name with -name/-pool added.
func (d *dropIn) with(tool string, args ...string) []string {
	return append(append([]string{tool}, d.remote()...), args...)
}

// sameCode reports a difference of exit codes.
func sameCode(t *testing.T, what string, real, ours run) {
	t.Helper()
	if real.code != ours.code {
		t.Errorf("%s: exit %d (real) vs %d (cesub)\nreal: %s%s\ncesub: %s%s", what, real.code, ours.code, real.out, real.err, ours.out, ours.err)
	}
}

// sameOut compares stdout after norm (nil: as is).
func sameOut(t *testing.T, what string, real, ours run, norm func(string) string) {
	t.Helper()
	r, o := real.out, ours.out
	if norm != nil {
		r, o = norm(r), norm(o)
	}
	if r != o {
		t.Errorf("%s: stdout differs\nreal:\n%s\ncesub:\n%s", what, r, o)
	}
}

var timeRE = regexp.MustCompile(`\d\d/\d\d/\d\d \d\d:\d\d:\d\d|\d+/\d+ +\d\d:\d\d`)

// byShape replaces times by their shape.
func byShape(s string) string { return timeRE.ReplaceAllString(s, "TIME") }

// renumber replaces cluster ids with C1, C2 in order of appearance.
func renumber(s string, clusters ...string) string {
	for i, c := range clusters {
		s = regexp.MustCompile(`\b`+regexp.QuoteMeta(c)+`\b`).ReplaceAllString(s, "C"+string(rune('1'+i)))
	}
	return s
}

var submittedRE = regexp.MustCompile(`(?m)^(\d+) job\(s\) submitted to cluster (\d+)\.$`)

// submitBoth submits file with both tools; it returns each cluster id
// (removed at the end of the test with the real condor_rm).
func (d *dropIn) submitBoth(file string, extra ...string) (real, ours run, rc, oc string) {
	d.t.Helper()
	real, ours = d.both("", nil, append(d.with("condor_submit", file), extra...)...)
	for _, r := range []*run{&real, &ours} {
		m := submittedRE.FindStringSubmatch(r.out)
		if m == nil {
			if m2 := regexp.MustCompile(`^(\d+)\.0 - `).FindStringSubmatch(r.out); m2 != nil {
				m = []string{"", "", m2[1]}
			}
		}
		if m == nil {
			d.t.Fatalf("condor_submit %s: no cluster in the output: exit %d\n%s%s", file, r.code, r.out, r.err)
		}
		c := m[2]
		if r == &real {
			rc = c
		} else {
			oc = c
		}
		d.t.Cleanup(func() { d.real(d.with("condor_rm", c)...) })
	}
	return real, ours, rc, oc
}

// waitStatus polls condor_q until every job of the clusters has a
// JobStatus in want; false if they have not within the wait.
func (d *dropIn) waitStatus(t *testing.T, want string, clusters ...string) bool {
	t.Helper()
	deadline := time.Now().Add(150 * time.Second)
	for time.Now().Before(deadline) {
		r := d.real(d.with("condor_q", append(clusters, "-af", "JobStatus")...)...)
		st := strings.Fields(r.out)
		ok := r.code == 0 && len(st) > 0
		for _, s := range st {
			ok = ok && strings.Contains(want, s)
		}
		if ok {
			return true
		}
		time.Sleep(2 * time.Second)
	}
	return false
}
