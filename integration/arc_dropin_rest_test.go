package integration

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
)

// TestArcDropInRest: the job tools' options the other drop-in tests leave
// out, real client and cesub's on the same arguments, the same CE and one
// job list of their own (a fresh HOME holding only this test's jobs, so
// that -c and -r select nothing else): the CE forms -c/-C and -r take,
// arcinfo -l's lines, arccat -f, arcget -c, and arcsync with and without -T
// for a token subject of the test's own (so the CE holds only its jobs).
func TestArcDropInRest(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	for _, s := range arcSides(t, tb) {
		t.Run(s.name, func(t *testing.T) {
			defer cleanArcJobs(t, s)
			ids := submitRest(t, s)
			compareSelection(t, s)
			compareInfoLong(t, s)
			waitFinished(t, s, ids)
			compareCatFile(t, s, ids)
			compareGetByCE(t, s, ids)
			compareSync(t, s.withToken(t, freshToken(t, tb, s)))
		})
	}
}

// ceFlag is the option selecting jobs by CE in the side's real client:
// ARC 6.17's job tools have only -c/--cluster, ARC 7's only -C.
func (s *arcSide) ceFlag() string {
	if s.name == "ARC-6.17" {
		return "-c"
	}
	return "-C"
}

// submitRest submits, with each client, a job that leaves a file of its
// own (kept as an output) besides stdout; it returns the ids, real's first.
func submitRest(t *testing.T, s *arcSide) []string {
	t.Helper()
	idRe := regexp.MustCompile(`^Job submitted with jobid: (` + regexp.QuoteMeta(s.url) + `/rest/1\.[01]/jobs/[A-Za-z0-9]+)\n$`)
	var ids []string
	for i, real := range []bool{true, false} {
		who := []string{"real", "cesub"}[i]
		desc := `&(executable="/bin/sh")(arguments="-c" "echo out-` + who + `; echo extra-` + who + ` > extra.txt")` +
			`(stdout="out.txt")(outputfiles=("extra.txt" ""))(jobname="rest-` + who + `")`
		r := s.submitRetry(t, real, "-C", s.url, "-T", "arcrest", "-e", desc)
		m := idRe.FindStringSubmatch(r.out)
		if r.code != 0 || m == nil {
			t.Fatalf("arcsub (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		ids = append(ids, m[1])
	}
	return ids
}

// queried is what arcstat -p says it selected: "N" of its summary line,
// or its "No jobs" line (what follows depends on the CE's answers).
var queriedRe = regexp.MustCompile(`(?m)^(Status of \d+ jobs was queried|No jobs found, try later)`)

// compareSelection: each form of a CE that -c/-C or -r names selects the
// same jobs with both clients (ARC compares the form with the job's
// management URL: an optional scheme, the host in any case, an optional
// port, then nothing or the path).
func compareSelection(t *testing.T, s *arcSide) {
	t.Helper()
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	host, hostPort := u.Hostname(), u.Host
	forms := []string{host, hostPort, s.url, s.url + "/", u.Scheme + "://" + hostPort, hostPort + u.Path,
		u.Scheme + "://" + host + u.Path, u.Scheme + "://" + strings.ToUpper(host) + ":" + u.Port() + u.Path,
		u.Scheme + "://" + host + ":1" + u.Path, s.url + "/rest/1.0", "nothere.example.org"}
	for _, form := range forms {
		for _, args := range [][]string{{s.ceFlag(), form}, {"-a", "-r", form}} {
			var got []string
			for _, real := range []bool{true, false} {
				r := s.run(t, real, "arcstat", append([]string{"-p"}, args...)...)
				got = append(got, queriedRe.FindString(r.out))
			}
			if got[0] == "" || got[0] != got[1] {
				t.Errorf("arcstat -p %v: real %q, cesub %q", args, got[0], got[1])
			}
		}
	}
}

// infoLabels are the arcinfo -l lines scripts read; each cesub prints
// must be one the real client prints (which prints the whole GLUE2 tree).
var infoLabels = []string{"Name:", "URL:", "Interface:", "Implementation name:", "Health state:", "Serving state:",
	"Mapping queue:", "Free slots:", "Max wall-time:", "Max CPU time:"}

// compareInfoLong: arcinfo -l's service, endpoint and share lines.
func compareInfoLong(t *testing.T, s *arcSide) {
	t.Helper()
	var out []string
	for _, real := range []bool{true, false} {
		r := s.run(t, real, "arcinfo", "-l", s.ceFlag(), s.url)
		if r.code != 0 || !strings.HasPrefix(r.out, "Computing service:\n  Name: ") {
			t.Fatalf("arcinfo -l (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
		out = append(out, r.out)
	}
	realLines := map[string]bool{}
	for _, l := range strings.Split(out[0], "\n") {
		realLines[strings.TrimSpace(l)] = true
	}
	n := 0
	for _, l := range strings.Split(out[1], "\n") {
		l = strings.TrimSpace(l)
		if !slices.ContainsFunc(infoLabels, func(p string) bool { return strings.HasPrefix(l, p) }) {
			continue
		}
		n++
		if !realLines[l] {
			t.Errorf("arcinfo -l: cesub's %q is not among the real client's lines:\n%s", l, out[0])
		}
	}
	for _, want := range []string{"URL: " + s.url, "Interface: org.nordugrid.arcrest", "Mapping queue: fork", "Serving state: production"} {
		if !strings.Contains(out[1], want+"\n") {
			t.Errorf("cesub's arcinfo -l lacks %q:\n%s", want, out[1])
		}
	}
	if n < 6 {
		t.Errorf("cesub's arcinfo -l prints %d of the lines compared:\n%s", n, out[1])
	}
}

// compareCatFile: arccat -f prints a file of the job's session folder with
// both clients; a file the job does not have is a failure for both.
func compareCatFile(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	for _, real := range []bool{true, false} {
		for i, id := range ids {
			r := s.run(t, real, "arccat", "-f", "extra.txt", id)
			if want := "extra-" + []string{"real", "cesub"}[i] + "\n"; r.code != 0 || r.out != want {
				t.Errorf("arccat -f extra.txt (real=%v): %d %q %q, want %q", real, r.code, r.out, r.err, want)
			}
		}
		// a file the CE does not have: exit 1 (ARC 6.17 and cesub); ARC 7 warns and exits 0, its
		// Job::CopyJobFile calling a missing file a success even when arccat says it is required
		// (docs/drop-in.md)
		r := s.run(t, real, "arccat", "-f", "nothere.txt", ids[0])
		if real && s.name == "ARC-7" {
			if r.code != 0 || r.out != "" || !strings.Contains(r.err, "WARNING: File download failed") {
				t.Errorf("arccat -f nothere.txt (ARC 7): %d %q %q", r.code, r.out, r.err)
			}
		} else if r.code != 1 || r.out != "" || r.err == "" {
			t.Errorf("arccat -f nothere.txt (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
}

// compareGetByCE: arcget -c/-C fetches every job of the list on that CE:
// the real client keeping them (-k), then cesub's cleaning them, each into
// its own -D folder with the same lines (in either order).
func compareGetByCE(t *testing.T, s *arcSide, ids []string) {
	t.Helper()
	for i, real := range []bool{true, false} {
		dir := []string{"byce-real", "byce-cesub"}[i]
		if err := os.MkdirAll(filepath.Join(s.work, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		args := []string{"-D", s.path(real, dir), s.ceFlag(), s.url}
		summary := "Jobs processed: 2, successfully retrieved: 2, successfully cleaned: 2"
		if real {
			args, summary = append([]string{"-k"}, args...), "Jobs processed: 2, successfully retrieved: 2"
		}
		r := s.run(t, real, "arcget", args...)
		var want []string
		for _, id := range ids {
			want = append(want, "Results stored at: "+dir+"/"+id[strings.LastIndex(id, "/")+1:])
		}
		want = append(want, summary)
		got := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		slices.Sort(got)
		slices.Sort(want)
		if r.code != 0 || !slices.Equal(got, want) {
			t.Errorf("arcget %v (real=%v): %d %q %q, want the lines %q", args, real, r.code, r.out, r.err, want)
		}
		for j, id := range ids {
			who := []string{"real", "cesub"}[j]
			b, err := os.ReadFile(filepath.Join(s.work, dir, id[strings.LastIndex(id, "/")+1:], "extra.txt"))
			if want := "extra-" + who + "\n"; err != nil || string(b) != want {
				t.Errorf("arcget -c (real=%v) extra.txt of %s: %q %v", real, who, b, err)
			}
		}
	}
	for _, real := range []bool{true, false} {
		if r := s.run(t, real, "arcstat", "-a"); r.code != 1 || r.out != "No jobs found, try later\n" {
			t.Errorf("after arcget -c (real=%v): %d %q %q", real, r.code, r.out, r.err)
		}
	}
}

// freshToken mints a token for the side's CE whose subject no other run
// has: the CE maps it to an identity holding only this test's jobs.
func freshToken(t *testing.T, tb *testbed.Env, s *arcSide) string {
	t.Helper()
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	aud, array := strings.TrimSuffix(s.url, "/arex"), false
	if s.name == "ARC-7" {
		aud, array = tb.Get(t, "CESUB_TESTBED_ARC7_AUD"), tb.Vars["CESUB_TESTBED_ARC7_SCOPE_FORM"] == "array"
	}
	tok, err := key.Mint(testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: fmt.Sprintf("dropin-sync-%d", time.Now().UnixNano()),
		Audience: []string{aud}, Groups: []string{"/wlcg/pilots"}, Lifetime: time.Hour, ScopeArray: array,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// withToken is s with both clients using tok (written in the work folder,
// which the ARC 7 client's chroot sees).
func (s *arcSide) withToken(t *testing.T, tok string) *arcSide {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.work, "token-sync"), []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	c := s.withEnv("BEARER_TOKEN_FILE=" + filepath.Join(s.work, "token-sync"))
	if s.realEnv == nil { // the ARC 7 client in its chroot: its command line names the token
		c.realCmd = func(tool string, args ...string) *exec.Cmd {
			cmd := s.realCmd(tool, args...)
			for i, a := range cmd.Args {
				if a == "BEARER_TOKEN_FILE="+s.view+"/token" {
					cmd.Args[i] = "BEARER_TOKEN_FILE=" + s.view + "/token-sync"
				}
			}
			return cmd
		}
	}
	return c
}

// syncRe is arcsync's output: the heading, one job a line, the total.
var syncRe = regexp.MustCompile(`^Found the following (new )?jobs:\n((?:\S+\n)*)Total number of (?:new )?jobs found: (\d+)\n$`)

// compareSync: with a token subject of its own (the CE holds only the two
// jobs each client submits here), arcsync -f -j LIST finds the job LIST
// lacks and drops the one the CE does not hold, and with -T (truncate)
// finds both jobs, LIST emptied first. ARC
// 6.17 also lists jobs as its EMI-ES interface names them (URL/ID): those
// lines are checked by shape (docs/drop-in.md).
func compareSync(t *testing.T, s *arcSide) {
	t.Helper()
	defer cleanArcJobs(t, s)
	ids := submitRest(t, s)
	gone := arcjoblist.Job{ID: s.url + "/rest/1.0/jobs/gone0", IDFromEndpoint: "gone0", Name: "gone", Interface: arcjoblist.InterfaceREST, ServiceURL: s.url}
	jobs, err := arcjoblist.Read(context.Background(), filepath.Join(s.work, ".arc", "jobs.dat"))
	if err != nil || len(jobs) != 2 {
		t.Fatalf("the job list: %v %v", jobs, err)
	}
	first := jobs[slices.IndexFunc(jobs, func(j arcjoblist.Job) bool { return j.ID == ids[0] })]
	for _, truncate := range []bool{false, true} {
		for _, real := range []bool{true, false} {
			list := filepath.Join(s.work, "sync.dat")
			_ = os.Remove(list)
			if err := arcjoblist.Add(context.Background(), list, gone, first); err != nil {
				t.Fatal(err)
			}
			args := []string{"-f", "-j", s.path(real, "sync.dat"), s.ceFlag(), s.url}
			// both drop the job the CE no longer holds (gone0), with -T or without
			want, keep := ids[1:], ids
			if truncate {
				args, want, keep = append([]string{"-T"}, args...), ids, ids
			}
			r := s.run(t, real, "arcsync", args...)
			m := syncRe.FindStringSubmatch(r.out)
			if r.code != 0 || m == nil || (m[1] == "") != truncate {
				t.Errorf("arcsync %v (real=%v): %d %q %q", args, real, r.code, r.out, r.err)
				continue
			}
			checkSyncLines(t, s, real, args, strings.Fields(m[2]), m[3], want)
			after, err := arcjoblist.Read(context.Background(), list)
			var have []string
			for _, j := range after {
				if !real || strings.Contains(j.ID, "/rest/1.") { // ARC 6.17 also records the EMI-ES names
					have = append(have, localOf(j.ID))
				}
			}
			slices.Sort(have)
			keep = localsOf(keep)
			if err != nil || !slices.Equal(have, keep) {
				t.Errorf("after arcsync %v (real=%v) the list holds %q, want %q (%v)", args, real, have, keep, err)
			}
		}
	}
}

// checkSyncLines: the REST ids arcsync printed are want's (compared by
// the CE's id: ARC's clients name every synced job URL/rest/1.0/jobs/ID,
// cesub by the REST version it speaks, 1.1 on ARC 7), the total counts the
// lines; ARC 6.17's other lines are EMI-ES names (URL/ID).
func checkSyncLines(t *testing.T, s *arcSide, real bool, args, lines []string, total string, want []string) {
	t.Helper()
	emies := regexp.MustCompile(`^` + regexp.QuoteMeta(s.url) + `/[A-Za-z0-9]+$`)
	restRe := regexp.MustCompile(`^` + regexp.QuoteMeta(s.url) + `/rest/1\.[01]/jobs/[A-Za-z0-9]+$`)
	var rest []string
	for _, l := range lines {
		switch {
		case restRe.MatchString(l):
			rest = append(rest, localOf(l))
		case !(real && s.name == "ARC-6.17" && emies.MatchString(l)):
			t.Errorf("arcsync %v (real=%v): line %q", args, real, l)
		}
	}
	slices.Sort(rest)
	if want = localsOf(want); !slices.Equal(rest, want) || total != fmt.Sprint(len(lines)) {
		t.Errorf("arcsync %v (real=%v): %q (total %s), want %q", args, real, lines, total, want)
	}
}

// localsOf are the CE's ids of ids, sorted.
func localsOf(ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, localOf(id))
	}
	slices.Sort(out)
	return out
}
