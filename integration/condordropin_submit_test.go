package integration

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// TestCondorDropInSubmitAcceptance: condor_submit -dry-run, the real one
// and cesub's, on submit files modelled on the groups where cesub and
// condor_submit used to disagree (SUBMIT_SKIP_FILECHECK, $$() executables,
// OAuth credential requests, invalid grid types, queue … from - with
// stdin) and on the command-line forms (NAME=VALUE, -a, -batch-name,
// -queue): the same exit code, the same summary line, and the same values
// of the attributes the case names.
func TestCondorDropInSubmitAcceptance(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		d := newDropIn(t, tb)
		d.file("job.sh", dropInJob, 0o755)
		d.file("in.txt", "x\n", 0o644)
		for _, c := range []struct {
			name, sub, stdin string
			env, args, attrs []string
		}{
			{name: "plain", sub: "executable = job.sh\narguments = a b\nqueue 2\n", attrs: []string{"Args", "Cmd"}},
			{name: "match-time executable", sub: "executable = $$(OpSys).sh\nqueue\n"},
			{name: "oauth services", sub: "executable = job.sh\nuse_oauth_services = box\nqueue\n"},
			{name: "oauth permissions", sub: "executable = job.sh\nbox_oauth_permissions = read\nqueue\n"},
			{name: "invalid grid type", sub: "universe = grid\ngrid_resource = bogus ce.example.org\nexecutable = job.sh\nqueue\n"},
			{name: "valid grid type", sub: "universe = grid\ngrid_resource = condor ce.example.org ce.example.org:9619\nexecutable = job.sh\nqueue\n"},
			{name: "queue from stdin", sub: "executable = job.sh\narguments = $(item)\nqueue item from -\n", stdin: "a\nb\nc\n", attrs: []string{"Args"}},
			{name: "missing executable", sub: "executable = nothere.sh\nqueue\n"},
			{name: "missing executable, skip filecheck", sub: "executable = nothere.sh\nqueue\n", env: []string{"_CONDOR_SUBMIT_SKIP_FILECHECK=true"}},
			{name: "missing input, skip filecheck", sub: "executable = job.sh\ntransfer_input_files = nothere.txt\nqueue\n", env: []string{"_CONDOR_SUBMIT_SKIP_FILECHECK=true"}},
			{name: "input", sub: "executable = job.sh\ntransfer_input_files = in.txt\nqueue\n"},
			{name: "command line", sub: "executable = job.sh\narguments = $(foo)\n", args: []string{"foo=bar", "-a", "request_cpus = 2", "-batch-name", "bn", "-queue", "3"},
				attrs: []string{"Args", "RequestCpus", "JobBatchName"}},
			{name: "-queue and a queue statement", sub: "executable = job.sh\nqueue\n", args: []string{"-queue", "2"}},
			{name: "unknown command", sub: "executable = job.sh\nfoo bar\nqueue\n"},
		} {
			t.Run(c.name, func(t *testing.T) {
				file := strings.ReplaceAll(c.name, " ", "_") + ".sub"
				d.file(file, c.sub, 0o644)
				args := append([]string{"condor_submit", "-dry-run", "-", file}, c.args...)
				real, ours := d.both(c.stdin, c.env, args...)
				sameCode(t, c.name, real, ours)
				re := regexp.MustCompile(`(?m)^\d+ job\(s\) dry-run to cluster 1\.$`)
				if r, o := re.FindString(real.out), re.FindString(ours.out); r != o {
					t.Errorf("summary: %q (real) vs %q (cesub)", r, o)
				}
				for _, a := range c.attrs {
					if r, o := attrLines(real.out, a), attrLines(ours.out, a); r != o {
						t.Errorf("%s: %q (real) vs %q (cesub)", a, r, o)
					}
				}
			})
		}
	})
}

// attrLines are the NAME=value lines of one attribute in -dry-run output,
// sorted (cesub's ads are in another order); Cmd by its base name.
func attrLines(out, name string) string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, name+"="); ok {
			if name == "Cmd" {
				v = v[strings.LastIndex(v, "/")+1:]
			}
			got = append(got, v)
		}
	}
	sort.Strings(got)
	return strings.Join(got, "|")
}
