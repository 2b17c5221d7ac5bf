package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
)

// arcSide is one CE with its real ARC client and cesub's emulation of it,
// sharing one HOME (so one ~/.arc/jobs.dat) and one work folder.
type arcSide struct {
	name, url string
	work      string // host path of the shared folder (HOME and files)
	view      string // that folder as the real client sees it (the chroot's /tmp/… for ARC 7)
	realEnv   []string
	realCmd   func(tool string, args ...string) *exec.Cmd
	links     string // folder of the links to cesub
	cesubEnv  []string
}

// path is rel in the work folder as the real client (real) or cesub sees it.
func (s *arcSide) path(real bool, rel string) string {
	if real {
		return s.view + "/" + rel
	}
	return filepath.Join(s.work, rel)
}

// run runs the real tool (real) or cesub's link, in the work folder.
func (s *arcSide) run(t *testing.T, real bool, tool string, args ...string) result {
	t.Helper()
	var cmd *exec.Cmd
	if real {
		cmd = s.realCmd(tool, args...)
	} else {
		cmd = exec.Command(filepath.Join(s.links, tool), args...)
		cmd.Env = s.cesubEnv
		cmd.Dir = s.work
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return result{out.String(), errb.String(), code}
}

// arcSides are A-REX 6.17 with the host's ARC 6.17 client and ARC 7 with
// the ARC 7 client of its chroot.
func arcSides(t *testing.T, tb *testbed.Env) []*arcSide {
	bin := cesubBinary(t)
	links := t.TempDir()
	for _, n := range []string{"arcsub", "arcstat", "arcget", "arckill", "arcclean", "arccat", "arcresume", "arcrenew", "arcinfo", "arcsync"} {
		if err := os.Symlink(bin, filepath.Join(links, n)); err != nil {
			t.Fatal(err)
		}
	}
	var sides []*arcSide
	if _, err := exec.LookPath("arcsub"); err == nil {
		sides = append(sides, arc6Side(t, tb, links))
	} else {
		t.Log("no arcsub on the host: A-REX 6.17 skipped")
	}
	return append(sides, arc7Side(t, tb, links))
}

func cesubArcEnv(t *testing.T, home, tokenFile, caDir string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + t.TempDir(), "XDG_DATA_HOME=" + t.TempDir(),
		"XDG_RUNTIME_DIR=" + t.TempDir(), "BEARER_TOKEN_FILE=" + tokenFile, "X509_CERT_DIR=" + caDir, "LANG=C"}
}

func arc6Side(t *testing.T, tb *testbed.Env, links string) *arcSide {
	work := t.TempDir()
	proxy := makeProxy(t, tb, work) // arcsub 6.17 insists on a proxy besides the token
	s := &arcSide{name: "ARC-6.17", url: tb.Get(t, "CESUB_TESTBED_AREX_URL"), work: work, view: work, links: links}
	ca := tb.Get(t, "X509_CERT_DIR")
	s.realEnv = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "BEARER_TOKEN_FILE=" + tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"),
		"X509_CERT_DIR=" + ca, "X509_USER_PROXY=" + proxy, "LANG=C"}
	s.realCmd = func(tool string, args ...string) *exec.Cmd {
		cmd := exec.Command(tool, args...)
		cmd.Env, cmd.Dir = s.realEnv, work
		return cmd
	}
	s.cesubEnv = cesubArcEnv(t, work, tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"), ca)
	return s
}

func arc7Side(t *testing.T, tb *testbed.Env, links string) *arcSide {
	root := tb.Get(t, "CESUB_TESTBED_ARC7_ROOT")
	work, err := os.MkdirTemp(filepath.Join(root, "tmp"), "cesub-dropin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	view := "/tmp/" + filepath.Base(work)
	tok, err := os.ReadFile(tb.Get(t, "CESUB_TESTBED_ARC7_TOKEN_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "token"), tok, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &arcSide{name: "ARC-7", url: tb.Get(t, "CESUB_TESTBED_ARC7_URL"), work: work, view: view, links: links}
	s.realCmd = func(tool string, args ...string) *exec.Cmd {
		script := `cd "$1" && shift && exec "$@"`
		full := append([]string{root, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + view, "LANG=C.UTF-8",
			"BEARER_TOKEN_FILE=" + view + "/token", "X509_CERT_DIR=/etc/grid-security/certificates", "sh", "-c", script, "sh", view, tool}, args...)
		return exec.Command("chroot", full...)
	}
	s.cesubEnv = cesubArcEnv(t, work, filepath.Join(work, "token"), tb.Get(t, "X509_CERT_DIR"))
	return s
}

// TestArcDropIn runs the real ARC client and cesub's emulation with the
// same arguments against the same CE and one shared ~/.arc/jobs.dat: each
// sees, fetches and cleans the other's jobs, and the lines scripts parse
// agree (ids and times by shape).
func TestArcDropIn(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	for _, s := range arcSides(t, tb) {
		t.Run(s.name, func(t *testing.T) {
			defer cleanArcJobs(t, s)
			ids := submitBoth(t, s)
			compareStat(t, s, ids)
			waitFinished(t, s, ids)
			compareCat(t, s, ids)
			compareGet(t, s, ids)
			compareEmpty(t, s)
			compareKill(t, s)
		})
	}
}

// submitBoth submits one job with each client (-T arcrest: without it
// ARC's client picks REST or EMI-ES at random; -e, -o) and checks the
// output shape and the ids file; it returns the ids, real's first.
func submitBoth(t *testing.T, s *arcSide) []string {
	t.Helper()
	idRe := regexp.MustCompile(`^Job submitted with jobid: (` + regexp.QuoteMeta(s.url) + `/rest/1\.[01]/jobs/[A-Za-z0-9]+)\n$`)
	var ids []string
	for i, real := range []bool{true, false} {
		desc := `&(executable="/bin/echo")(arguments="hello ` + []string{"real", "cesub"}[i] + `")(stdout="out.txt")(jobname="dropin-` + []string{"real", "cesub"}[i] + `")`
		r := s.run(t, real, "arcsub", "-C", s.url, "-T", "arcrest", "-o", s.path(real, "ids.txt"), "-e", desc)
		m := idRe.FindStringSubmatch(r.out)
		if r.code != 0 || m == nil {
			t.Fatalf("arcsub (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		ids = append(ids, m[1])
	}
	b, _ := os.ReadFile(filepath.Join(s.work, "ids.txt"))
	if got := strings.Fields(string(b)); !slices.Equal(got, ids) {
		t.Errorf("-o file: %q, want %q", got, ids)
	}
	return ids
}

var stateRe = regexp.MustCompile(`^ State: (Accepted|Preparing|Submitting|Queuing|Running|Finishing|Finished)$`)

// compareStat: both arcstat -a list both jobs, names and summary alike;
// arcstat -J documents have the same fields.
func compareStat(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	for _, real := range []bool{true, false} {
		r := s.statAll(t, real, 2)
		if r.code != 0 || !strings.HasSuffix(r.out, "Status of 2 jobs was queried, 2 jobs returned information\n") {
			t.Errorf("arcstat -a (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		for i, id := range ids {
			if !strings.Contains(r.out, "Job: "+id+"\n Name: dropin-"+[]string{"real", "cesub"}[i]+"\n State: ") {
				t.Errorf("arcstat -a (real=%v) lacks %s:\n%s", real, id, r.out)
			}
		}
		for _, l := range strings.Split(r.out, "\n") {
			if strings.HasPrefix(l, " State:") && !stateRe.MatchString(l) {
				t.Errorf("arcstat (real=%v): %q", real, l)
			}
		}
		r = s.run(t, real, "arcstat", "-J", ids[0])
		doc := r.out
		if strings.HasPrefix(doc, `"jobs"`) { // ARC 6.17 leaves out the braces
			doc = "{" + doc + "}"
		}
		var js struct{ Jobs []map[string]any }
		if err := json.Unmarshal([]byte(doc), &js); err != nil || len(js.Jobs) != 1 || js.Jobs[0]["id"] != ids[0] ||
			js.Jobs[0]["name"] != "dropin-real" || js.Jobs[0]["state"] == nil {
			t.Errorf("arcstat -J (real=%v): %v %q", real, err, r.out)
		}
		r = s.run(t, real, "arcstat", "nothere")
		if r.code != 1 || r.out != "Warning: Job not found in job list: nothere\nNo jobs found, try later\n" {
			t.Errorf("arcstat nothere (real=%v): %d %q", real, r.code, r.out)
		}
	}
}

// statAll runs arcstat -a, again when the CE answered for fewer than n
// jobs (the real client says "wrong response: 403" when A-REX's token check
// timed out).
func (s *arcSide) statAll(t *testing.T, real bool, n int) result {
	t.Helper()
	want := fmt.Sprintf("Status of %d jobs was queried, %d jobs returned information\n", n, n)
	return s.runSettled(t, real, "the CE answered for fewer jobs", func(r result) bool { return strings.HasSuffix(r.out, want) },
		"arcstat", "-a")
}

// runSettled runs tool with args, again (up to three times) while ok says
// the busy shared CE failed the request (why names how): what is compared
// is the clients' behaviour, not the CE's load.
func (s *arcSide) runSettled(t *testing.T, real bool, why string, ok func(result) bool, tool string, args ...string) result {
	t.Helper()
	var r result
	for try := 0; try < 3; try++ {
		if r = s.run(t, real, tool, args...); ok(r) {
			return r
		}
		t.Logf("%s (real=%v) try %d: %s: %q %q", tool, real, try+1, why, r.out, r.err)
		time.Sleep(5 * time.Second)
	}
	return r
}

// waitFinished polls cesub's arcstat until both jobs have finished.
func waitFinished(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Minute) // ARC 7's REST status can follow minutes late
	for time.Now().Before(deadline) {
		r := s.run(t, false, "arcstat", "-s", "Finished", "-a")
		if strings.Count(r.out, " State: Finished\n Exit Code: 0\n") == 2 {
			// the real client reads A-REX's REST state, which follows the grid manager's later
			for time.Now().Before(deadline) {
				if r := s.run(t, true, "arcstat", "-s", "Finished", "-a"); strings.Count(r.out, " State: Finished\n") == 2 {
					return
				}
				time.Sleep(3 * time.Second)
			}
		}
		time.Sleep(3 * time.Second)
	}
	t.Fatalf("jobs %v did not finish", ids)
}

// compareCat: each client shows each job's stdout.
func compareCat(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	for _, real := range []bool{true, false} {
		for i, id := range ids {
			r := s.run(t, real, "arccat", id)
			if want := "hello " + []string{"real", "cesub"}[i] + "\n"; r.code != 0 || r.out != want {
				t.Errorf("arccat %s (real=%v): %d %q %q, want %q", id, real, r.code, r.out, r.err, want)
			}
		}
	}
}

// compareGet: cesub fetches the real client's job and the real client
// cesub's, each into its own -D folder, with the same lines.
func compareGet(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	for i, real := range []bool{false, true} { // cesub gets ids[0] (real's), real gets ids[1]
		dir := []string{"dl-cesub", "dl-real"}[i]
		_ = os.MkdirAll(filepath.Join(s.work, dir), 0o755)
		r := s.run(t, real, "arcget", "-D", s.path(real, dir), ids[i])
		local := ids[i][strings.LastIndex(ids[i], "/")+1:]
		// a folder under the working directory is shown relative to it
		want := "Results stored at: " + dir + "/" + local + "\nJobs processed: 1, successfully retrieved: 1, successfully cleaned: 1\n"
		if r.code != 0 || r.out != want {
			t.Errorf("arcget (real=%v): %d %q %q, want %q", real, r.code, r.out, r.err, want)
		}
		b, err := os.ReadFile(filepath.Join(s.work, dir, local, "out.txt"))
		if want := "hello " + []string{"real", "cesub"}[i] + "\n"; err != nil || string(b) != want {
			t.Errorf("fetched out.txt (real=%v): %q %v", real, b, err)
		}
	}
}

// compareEmpty: with every job fetched, the list is empty for both.
func compareEmpty(t *testing.T, s *arcSide) {
	t.Helper()
	for _, real := range []bool{true, false} {
		r := s.run(t, real, "arcstat", "-a")
		if r.code != 1 || r.out != "No jobs found, try later\n" {
			t.Errorf("arcstat -a on an empty list (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		r = s.run(t, real, "arcget")
		if r.code != 1 || !strings.Contains(r.err, "No jobs given") {
			t.Errorf("arcget without jobs (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
}

// compareKill: each client kills the other's running job.
func compareKill(t *testing.T, s *arcSide) {
	t.Helper()
	var ids []string
	for _, real := range []bool{true, false} {
		r := s.run(t, real, "arcsub", "-C", s.url, "-T", "arcrest", "-e", `&(executable="/bin/sleep")(arguments="600")(jobname="dropin-kill")`)
		if r.code != 0 {
			t.Fatalf("arcsub sleep (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		ids = append(ids, strings.TrimSpace(strings.TrimPrefix(r.out, "Job submitted with jobid: ")))
	}
	killRe := regexp.MustCompile(`^Jobs processed: 1, successfully killed: 1, successfully cleaned: [01]\n$`)
	for i, real := range []bool{false, true} { // cesub kills real's job, real kills cesub's
		r := s.run(t, real, "arckill", ids[i])
		if r.code != 0 || !killRe.MatchString(r.out) {
			t.Errorf("arckill (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
}

// cleanArcJobs cleans every job left on the shared list (the killed ones
// once the CE has ended them), with cesub's arcclean. It waits up to 8
// minutes: on the loaded CI machine A-REX 6.17's submit-fork-job has taken
// 2.5 minutes to hand a job to the fork LRMS, and a job is cleaned only
// once it has ended.
func cleanArcJobs(t *testing.T, s *arcSide) {
	deadline := time.Now().Add(8 * time.Minute)
	for time.Now().Before(deadline) {
		r := s.run(t, false, "arcclean", "-a")
		if r.code == 1 && strings.Contains(r.out+r.err, "No jobs") || strings.Contains(r.err, "doesn't exist") {
			return
		}
		st := s.run(t, false, "arcstat", "-a")
		if st.code == 1 {
			return
		}
		if strings.Contains(st.out, " 0 jobs returned information") { // the CE no longer has them
			s.run(t, false, "arcclean", "-a", "-f")
		}
		time.Sleep(5 * time.Second)
	}
	t.Errorf("jobs left on %s: %s", s.name, s.run(t, false, "arcstat", "-a").out)
}
