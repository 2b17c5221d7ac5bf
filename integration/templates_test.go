package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// TestHTCondorSubmitTemplates: `use template :` with a site's templates
// (SUBMIT_TEMPLATE_NAMES and SUBMIT_TEMPLATE_<Name> in an HTCondor
// configuration file, with arguments, defaults, a template using another,
// `if`/`error :`), and `use strict :`. condor_submit in the chroot, with the
// same configuration file included in its own, and cesub with
// --condor-config make the same ads; both refuse a template called with
// too few arguments with the template's own message.
func TestHTCondorSubmitTemplates(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "CONDOR", func(t *testing.T, tb *testbed.Env) {
		root := tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT")
		dir, err := os.MkdirTemp("/tmp", "cesub-tpl-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir); os.RemoveAll(root + dir) })
		files := map[string]string{
			"templates.conf": `# a site's submit templates
SUBMIT_TEMPLATE_NAMES = Resources
SUBMIT_TEMPLATE_NAMES = $(SUBMIT_TEMPLATE_NAMES) Pilot

SUBMIT_TEMPLATE_Resources @=tpl
   if ! $(1?)
      error : Template:Resources requires at least 1 argument - Resources(cpus [, memory [, site...]])
   endif
   request_cpus = $(1)
   request_memory = $(2:1024)
   +Sites = "$(3+:anywhere)"
@tpl

SUBMIT_TEMPLATE_Pilot @=tpl
	use template : Resources($(1:4), $(2:2048), $(3+))
	batch_name = pilot-$(1:4)
	+PilotArgs = "$(0)"
@tpl
`,
			"main.conf": "include ifexist : /etc/condor/condor_config\ninclude : " + dir + "/templates.conf\n",
			"job.sub": `executable = /bin/true
transfer_executable = false
use template : Pilot(8, 4096, SiteA, SiteB)
use strict : false
queue 2
`,
			"few.sub":    "executable = /bin/true\nuse template : Resources\nqueue\n",
			"other.conf": "SUBMIT_TEMPLATE_NAMES = Other\nSUBMIT_TEMPLATE_Other = request_cpus = 1\n",
		}
		for _, d := range []string{dir, root + dir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for n, c := range files {
				_ = os.WriteFile(filepath.Join(d, n), []byte(c), 0o644)
			}
		}
		condorSubmit := func(file string) (string, error) {
			out, err := exec.Command("chroot", root, "sh", "-c", "cd "+dir+" && CONDOR_CONFIG="+dir+"/main.conf condor_submit -spool -dry-run - "+file).CombinedOutput()
			return string(out), err
		}
		out, err := condorSubmit("job.sub")
		if !strings.Contains(out, "job(s) dry-run to cluster") {
			t.Fatalf("condor_submit -dry-run with the templates: %v\n%s", err, out)
		}
		theirs := parseDryRun(t, out)
		env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": filepath.Join(t.TempDir(), "j.db")}
		ceAddr := tb.Get(t, "CESUB_TESTBED_CONDOR_CE")
		// cesub reads the same main.conf: its include brings the templates in
		r := cesub(t, tb, env, "submit", "-C", ceAddr, "--condor-config", filepath.Join(dir, "main.conf"), "-f", filepath.Join(dir, "job.sub"), "--dry-run", "-o", "json")
		if r.code != 0 {
			t.Fatalf("cesub --dry-run: %d %s", r.code, r.err)
		}
		var plan struct {
			Requests []struct{ Method, Body string }
		}
		if err := json.Unmarshal([]byte(r.out), &plan); err != nil {
			t.Fatal(err)
		}
		var ours []map[string]string
		for _, q := range plan.Requests {
			if q.Method == "QMGMT" {
				ours = append(ours, parseLong(t, q.Body))
			}
		}
		if len(ours) != 2 || len(theirs) != 2 {
			t.Fatalf("procs: cesub %d, condor_submit %d", len(ours), len(theirs))
		}
		for p := range ours {
			for _, a := range []string{"RequestCpus", "RequestMemory", "Sites", "PilotArgs", "JobBatchName", "Cmd"} {
				o, c := ours[p][strings.ToLower(a)], theirs[p][strings.ToLower(a)]
				if c == "" || o != c {
					t.Errorf("proc %d %s: cesub %q, condor_submit %q", p, a, o, c)
				}
			}
		}
		if ours[0]["sites"] != `"SiteA, SiteB"` || ours[0]["requestcpus"] != "8" {
			t.Errorf("the arguments did not reach the ads: Sites %s RequestCpus %s", ours[0]["sites"], ours[0]["requestcpus"])
		}
		// too few arguments: both stop with the template's error
		out, _ = condorSubmit("few.sub")
		if !strings.Contains(out, "requires at least 1 argument") {
			t.Fatalf("condor_submit accepted few.sub: %s", out)
		}
		r = cesub(t, tb, env, "submit", "-C", ceAddr, "--condor-config", filepath.Join(dir, "templates.conf"), "-f", filepath.Join(dir, "few.sub"), "--dry-run")
		if r.code != 2 || !strings.Contains(r.err, "few.sub:2:1") || !strings.Contains(r.err, "requires at least 1 argument") {
			t.Errorf("cesub with too few template arguments: exit %d, want 2 with few.sub:2:1 and the template's message: %s", r.code, r.err)
		}
		// without the configuration the template is unknown, and said so
		r = cesub(t, tb, env, "submit", "-C", ceAddr, "--condor-config", filepath.Join(dir, "other.conf"), "-f", filepath.Join(dir, "job.sub"), "--dry-run")
		if r.code != 2 || !strings.Contains(r.err, "does not recognise Pilot") || !strings.Contains(r.err, "defined: OTHER") {
			t.Errorf("unknown template: exit %d: %s", r.code, r.err)
		}
	})
}
