package submitfile

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/corpus"
	"github.com/cesub/cesub/pkg/classad"
)

// TestRecordedDryRun compares cesub's ads with the ads HTCondor 23.9.6's
// condor_submit -dry-run printed for a 2-proc spooled job
// (../shared/reference/htcondor-ce/dryrun-job-ads.txt). The submit file is
// not recorded; the one below is what those ads imply (Cmd, V2 arguments,
// 100 MB, one input, a custom attribute, cluster.process outputs, queue 2,
// submitted from /home/alice/sub with -spool).
func TestRecordedDryRun(t *testing.T) {
	b, err := os.ReadFile(corpus.Reference(t, "htcondor-ce", "dryrun-job-ads.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// recorded ads: cluster attributes, then per proc the differing ones
	var procs []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if line == "." {
			procs = append(procs, cur)
			cur = map[string]string{}
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			cur[k] = v
		}
	}
	if len(procs) != 2 {
		t.Fatalf("read %d recorded procs", len(procs))
	}
	for k, v := range procs[0] { // proc 1 inherits the cluster ad
		if _, ok := procs[1][k]; !ok {
			procs[1][k] = v
		}
	}
	src := `universe = vanilla
executable = job.sh
arguments = "a b"
transfer_input_files = in.txt
should_transfer_files = YES
when_to_transfer_output = ON_EXIT
output = out.$(Cluster).$(Process)
error = err.$(Cluster).$(Process)
log = job.log
request_memory = 100
+MyCustom = "hello"
queue 2
`
	f, err := Parse("job.sub", []byte(src), ParseOptions{Options: Options{Dir: "/home/alice/sub", Env: func(string) string { return "" },
		Now: time.Unix(1795333766, 0)}, Spool: true})
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for i, want := range procs {
		for _, attr := range append(Subset, "MyCustom") {
			w, ok := want[attr]
			if !ok {
				continue
			}
			got, have := f.Procs[i].Ad.Get(attr)
			if !have {
				t.Errorf("proc %d: %s missing, dry-run has %s", i, attr, w)
				continue
			}
			if g := classad.Unparse(got); g != w {
				t.Errorf("proc %d: %s = %s, dry-run has %s", i, attr, g, w)
			}
			compared++
		}
	}
	if compared < 40 {
		t.Errorf("only %d attributes compared", compared)
	}
	t.Logf("%d attribute values equal to condor_submit -dry-run (HTCondor 23.9.6)", compared)
}

// The ads follow the condor_submit of the CE's version where versions
// differ (what 23.9.6 and 25.14.1 print for -spool -dry-run; checked
// against both in integration/ when the sid testbed runs); a
// leave_in_queue the user gives wins over either default.
func TestVersionDependentAds(t *testing.T) {
	src := "executable = /bin/true\nrequest_disk = 1000\nqueue\n"
	get := func(version, extra string) (string, string) {
		t.Helper()
		f, err := Parse("job.sub", []byte(extra+src), ParseOptions{Options: Options{Dir: "/tmp", Env: func(string) string { return "" }},
			Spool: true, CondorVersion: version})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := f.Procs[0].Ad.Get("Requirements")
		leave, _ := f.Procs[0].Ad.Get("LeaveJobInQueue")
		return classad.Unparse(req), classad.Unparse(leave)
	}
	const (
		disk23   = "(TARGET.Disk >= RequestDisk)"
		disk25   = `(versionGE(split(TARGET.CondorVersion)[1],"25.12.0") || (TARGET.Disk >= RequestDisk))`
		leave23  = "JobStatus == 4 && (CompletionDate =?= undefined || CompletionDate == 0 || ((time() - CompletionDate) < 864000))"
		leave258 = "JobStatus == 4 && (time() - (CompletionDate ?: time())) < 864000 && (StageOutFinish ?: 0) < EnteredCurrentStatus"
	)
	for _, tc := range []struct{ version, disk, leave string }{
		{"", disk23, leave23},
		{"23.9.6", disk23, leave23},
		{"24.0.13", disk23, leave23},
		{"25.7.2", disk23, leave23},
		{"25.8.2", disk23, leave258},
		{"25.12.2", disk25, leave258},
		{"25.14.1", disk25, leave258},
		{"26.0.0", disk25, leave258},
		{"garbage", disk23, leave23},
	} {
		req, leave := get(tc.version, "")
		if !strings.Contains(req, tc.disk) || (tc.disk == disk23 && strings.Contains(req, "versionGE")) {
			t.Errorf("%q: Requirements = %s", tc.version, req)
		}
		if leave != tc.leave {
			t.Errorf("%q: LeaveJobInQueue = %s", tc.version, leave)
		}
	}
	if _, leave := get("25.14.1", "leave_in_queue = JobStatus == 4\n"); leave != "JobStatus == 4" {
		t.Errorf("the user's leave_in_queue lost: %s", leave)
	}
	if _, err := Parse("job.sub", []byte("leave_in_queue = (((\n"+src), ParseOptions{Options: Options{Dir: "/tmp", Env: func(string) string { return "" }}, Spool: true}); err == nil || !strings.Contains(err.Error(), "job.sub:1") {
		t.Errorf("a bad leave_in_queue: %v", err)
	}
}
