package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/cetest"
)

// TestBulkSubmitSeveralCEs: --count N makes N of each job (xRSL: N jobs in
// one request; a submit file: N times the procs, $(Process) numbered on),
// several -C send every job to every CE (one request each), and -o jsonl
// prints one line per accepted job; every job is on the job list once.
func TestBulkSubmitSeveralCEs(t *testing.T) {
	one := cetest.NewFake("bulkce://one:7777", "bulkce")
	two := cetest.NewFake("bulkce://two:7777", "bulkce")
	info := cetest.Register(ce.Backends, "bulkce", "bulkce", one)
	info.New = func(cfg ce.Config) (ce.Backend, error) {
		if cfg.Address.Host == "two" {
			return two, nil
		}
		return one, nil
	}
	ce.Backends.Register(info)
	k := mintKey(t)
	vars := map[string]string{"BEARER_TOKEN": mint(t, k, testissuer.Claims{Audience: []string{"https://wlcg.cern.ch/jwt/v1/any"},
		Lifetime: time.Hour, Scope: "compute.create compute.read compute.modify compute.cancel"})}
	dir := t.TempDir()
	list := filepath.Join(dir, "jobs.db")
	r := run(t, vars, "submit", "-j", list, "-C", "bulkce://one", "-C", "bulkce://two", "--count", "25", "-o", "jsonl",
		"-e", `&(executable=/bin/echo)(arguments=x)(jobname=bulk)`)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(r.out))
	for sc.Scan() {
		var j struct{ ID, Name, CE, State string }
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil || j.ID == "" || j.Name != "bulk" || seen[j.ID] {
			t.Fatalf("jsonl line %q: %v (seen %v)", sc.Text(), err, seen[j.ID])
		}
		seen[j.ID] = true
	}
	if len(seen) != 50 || len(one.Jobs()) != 25 || len(two.Jobs()) != 25 {
		t.Fatalf("%d lines, %d and %d jobs on the CEs; want 50, 25, 25", len(seen), len(one.Jobs()), len(two.Jobs()))
	}
	for _, f := range []*cetest.Fake{one, two} {
		if calls := strings.Join(f.Calls(), ","); calls != "submit 25" {
			t.Errorf("not one request of 25 jobs: %s", calls)
		}
	}
	r = run(t, vars, "status", "-a", "-j", list, "-o", "json")
	var st struct{ Jobs []struct{ ID string } }
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || len(st.Jobs) != 50 {
		t.Fatalf("job list: %v %d", err, len(st.Jobs))
	}
	// a submit file: --count multiplies its procs, $(Process) runs on
	sub := filepath.Join(dir, "p.sub")
	_ = os.WriteFile(sub, []byte("executable = /bin/echo\narguments = $(Process)\ntransfer_executable = false\nqueue 2\n"), 0o644)
	r = run(t, vars, "submit", "-j", list, "-C", "bulkce://one", "--count", "3", "-f", sub, "-o", "json")
	var got struct{ Jobs []struct{ ID string } }
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || r.code != 0 || len(got.Jobs) != 6 {
		t.Fatalf("--count 3 of a 2-proc file: %d %v %s %s", r.code, err, r.out, r.err)
	}
	args := map[string]bool{}
	for _, j := range one.Jobs() {
		if j.Name == "" { // the submit-file jobs (the xRSL ones are named)
			args[j.Files["stdout"]] = true
		}
	}
	if len(args) != 6 {
		t.Errorf("the 6 procs do not have 6 different $(Process) arguments: %v", args)
	}
	for _, bad := range [][]string{{"--count", "0"}, {"--dry-run", "-C", "bulkce://two"}} {
		if r := run(t, vars, append([]string{"submit", "-j", list, "-C", "bulkce://one", "-e", "&(executable=/bin/true)"}, bad...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", bad, r.code, r.err)
		}
	}
	if r := run(t, vars, "status", "-a", "-j", list, "-o", "jsonl"); r.code != 2 {
		t.Errorf("status -o jsonl: exit %d, want 2", r.code)
	}
}
