package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/token"
)

// runTool runs cesub as it runs when invoked as argv0 (a link's path).
func runTool(t *testing.T, vars map[string]string, argv0 string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	f := &cmdutil.Factory{
		IO:      &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb},
		Env:     token.Env{Getenv: func(k string) string { return vars[k] }, ReadFile: readNoOwner, EUID: 4242},
		Version: "test",
	}
	code := runAs(context.Background(), f, append([]string{argv0}, args...))
	return result{out.String(), errb.String(), code}
}

// TestCompatInstallLinksRunTheTools: install makes a link per ARC tool to
// the running binary, and a link's name runs that tool's emulation.
func TestCompatInstallLinksRunTheTools(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bin")
	r := run(t, nil, "compat", "install", dir, "--family", "arc")
	if r.code != 0 {
		t.Fatalf("install: %d %s", r.code, r.err)
	}
	exe, _ := os.Executable()
	for _, name := range []string{"arcsub", "arcstat", "arcget", "arckill", "arcclean", "arccat", "arcresume", "arcrenew", "arcinfo", "arcsync", "arcproxy"} {
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil || target != exe {
			t.Errorf("%s -> %q (%v), want %s", name, target, err, exe)
		}
		v := runTool(t, nil, filepath.Join(dir, name), "--version")
		if v.code != 0 || v.out != name+" (cesub test, emulating the ARC 7 client)\n" {
			t.Errorf("%s --version: %d %q %q", name, v.code, v.out, v.err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "condor_q")); err == nil {
		t.Errorf("--family arc made condor_q")
	}
	if r := run(t, nil, "compat", "install", dir, "--family", "arc"); r.code != 0 {
		t.Errorf("installing again over its own links: %d %s", r.code, r.err)
	}
	if r := run(t, nil, "compat", "list"); r.code != 0 || !strings.Contains(r.out, "arcstat") {
		t.Errorf("list: %d %q", r.code, r.out)
	}
}

// TestCompatInstallRefusesOtherFiles: a real arcsub (any file that is not
// a link to cesub) is kept unless --force.
func TestCompatInstallRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "arcsub")
	if err := os.WriteFile(real, []byte("#!/bin/sh\necho real\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "compat", "install", dir, "--family", "arc")
	if r.code == 0 || !strings.Contains(r.err, "arcsub") {
		t.Errorf("install over a real arcsub: %d %q", r.code, r.err)
	}
	if b, _ := os.ReadFile(real); string(b) != "#!/bin/sh\necho real\n" {
		t.Errorf("the real arcsub was changed")
	}
	if _, err := os.Readlink(filepath.Join(dir, "arcstat")); err != nil {
		t.Errorf("the other links were not made: %v", err)
	}
	if r := run(t, nil, "compat", "install", dir, "--family", "arc", "--force"); r.code != 0 {
		t.Fatalf("--force: %d %s", r.code, r.err)
	}
	if _, err := os.Readlink(real); err != nil {
		t.Errorf("--force left the file: %v", err)
	}
	if r := run(t, nil, "compat", "install", dir, "--family", "nope"); r.code != 2 {
		t.Errorf("--family nope: %d", r.code)
	}
}

// arcVars is an environment with a private HOME (ARC's job list under it).
func arcVars(t *testing.T) (map[string]string, string) {
	home := t.TempDir()
	return map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "cfg"),
		"XDG_DATA_HOME": filepath.Join(home, "data"), "BEARER_TOKEN": "x.y.z"}, home
}

// TestArcToolsRefuseAsARCDoes: ARC's messages and exit codes for no jobs,
// a missing job list, an unknown option, a missing description.
func TestArcToolsRefuseAsARCDoes(t *testing.T) {
	vars, home := arcVars(t)
	for _, c := range []struct {
		argv0 string
		args  []string
		out   string // on stdout or stderr
	}{
		{"arcstat", nil, "ERROR: No jobs given"},
		{"arcget", nil, "ERROR: No jobs given"},
		{"arcstat", []string{"-a"}, "ERROR: Job list file (" + filepath.Join(home, ".arc", "jobs.dat") + ") doesn't exist"},
		{"arcclean", []string{"-j", filepath.Join(home, "none.dat")}, "ERROR: Job list file (" + filepath.Join(home, "none.dat") + ") doesn't exist"},
		{"arcstat", []string{"--bogus"}, "Unknown option --bogus"},
		{"arcsub", nil, "ERROR: No job description input specified"},
		{"arcsub", []string{"-C", "https://127.0.0.1:1/arex", "nofile.xrsl"}, "ERROR: Can not open job description file: nofile.xrsl"},
		{"arcsub", []string{"-C", "https://127.0.0.1:1/arex", "-e", "&(executable="}, "ERROR: Invalid JobDescription:"},
	} {
		r := runTool(t, vars, "/x/"+c.argv0, c.args...)
		if r.code != 1 || !strings.Contains(r.out+r.err, c.out) {
			t.Errorf("%s %v: %d out %q err %q, want exit 1 and %q", c.argv0, c.args, r.code, r.out, r.err, c.out)
		}
	}
}

// TestArcstatUnreachableCE: a job of ARC's list whose CE does not answer
// is counted as queried, not as returning information, and shown with -u.
func TestArcstatUnreachableCE(t *testing.T) {
	vars, home := arcVars(t)
	list := arcjoblist.DefaultPath(home)
	job := arcjoblist.Job{ID: "https://127.0.0.1:1/arex/rest/1.0/jobs/abc123", IDFromEndpoint: "abc123", Name: "j1",
		Interface: arcjoblist.InterfaceREST, ServiceURL: "https://127.0.0.1:1/arex", Submitted: time.Unix(1700000000, 0)}
	if err := arcjoblist.Add(context.Background(), list, job); err != nil {
		t.Fatal(err)
	}
	r := runTool(t, vars, "arcstat", "-a", "-t", "2")
	if r.code != 0 || r.out != "Status of 1 jobs was queried, 0 jobs returned information\n" {
		t.Errorf("arcstat -a: %d %q %q", r.code, r.out, r.err)
	}
	r = runTool(t, vars, "arcstat", "-u", "j1")
	want := "Job: " + job.ID + "\n Name: j1\n State: Undefined\n\nStatus of 1 jobs was queried, 0 jobs returned information\n"
	if r.code != 0 || r.out != want {
		t.Errorf("arcstat -u j1: %d %q, want %q", r.code, r.out, want)
	}
	r = runTool(t, vars, "arcstat", "nothere")
	if r.code != 1 || r.out != "Warning: Job not found in job list: nothere\nNo jobs found, try later\n" {
		t.Errorf("arcstat nothere: %d %q", r.code, r.out)
	}
	r = runTool(t, vars, "arcclean", "-f", "-a")
	if r.code != 0 || r.out != "Jobs processed: 1, deleted: 1\n" {
		t.Errorf("arcclean -f -a: %d %q %q", r.code, r.out, r.err)
	}
	if jobs, _ := arcjoblist.Read(context.Background(), list); len(jobs) != 0 {
		t.Errorf("arcclean -f left %v", jobs)
	}
}

// TestArcsubSeveralCEs: with several CEs arcsub brokers: it asks each for
// its information first; the first does not answer, and arcsub stops as
// ARC's does (exit 1) without trying the second, having sent nothing.
func TestArcsubSeveralCEs(t *testing.T) {
	vars, _ := arcVars(t)
	r := runTool(t, vars, "arcsub", "-t", "2", "-C", "https://127.0.0.1:1/arex", "-C", "https://127.0.0.1:2/arex", "-b", "FastestQueue",
		"-e", `&(executable="/bin/true")`)
	if r.code != 1 || !strings.Contains(r.err, "ERROR: Job submission aborted because no resource returned any information") ||
		!strings.Contains(r.err, "127.0.0.1:1") || strings.Contains(r.err, "127.0.0.1:2") {
		t.Errorf("arcsub to two CEs: %d out %q err %q", r.code, r.out, r.err)
	}
	if strings.Contains(r.out, "Job submitted") {
		t.Errorf("a job was reported submitted: %q", r.out)
	}
}

// TestPackagesShipEveryLink: the deb and rpm (.goreleaser.yaml) carry a
// link in /usr/lib/cesub/compat for each tool `compat list` names, no more.
func TestPackagesShipEveryLink(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var shipped []string
	for _, m := range regexp.MustCompile(`(?m)^\s+dst: /usr/lib/cesub/compat/(\S+)$`).FindAllStringSubmatch(string(b), -1) {
		shipped = append(shipped, m[1])
	}
	r := run(t, nil, "compat", "list")
	var listed []string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		listed = append(listed, strings.Fields(l)[0])
	}
	slices.Sort(shipped)
	slices.Sort(listed)
	if len(listed) < 10 || !slices.Equal(shipped, listed) {
		t.Errorf("packaged links %v, compat list %v", shipped, listed)
	}
}
