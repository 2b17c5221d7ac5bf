package integration

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// TestArcDropInRest: the job tools' options the other drop-in tests leave
// out, real client and cesub's on the same arguments, the same CE and one
// job list of their own (a fresh HOME holding only this test's jobs, so
// that -c and -r select nothing else): the CE forms -c/-C and -r take,
// arcinfo -l's lines, arccat -f, and arcget -c.
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
		r := s.run(t, real, "arccat", "-f", "nothere.txt", ids[0])
		if r.code != 1 || r.out != "" || r.err == "" {
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
