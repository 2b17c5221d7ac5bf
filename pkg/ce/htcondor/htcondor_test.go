package htcondor

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

func TestParseJobID(t *testing.T) {
	for _, tc := range []struct {
		id, endpoint, local string
		ok                  bool
	}{
		{"condor://ce.example.org:9619/12.3", "condor://ce.example.org:9619", "12.3", true},
		{"htcondor://ce.example.org:9619/1.0", "condor://ce.example.org:9619", "1.0", true},
		{"condor://ce.example.org:9619/12", "", "", false},
		{"condor://ce.example.org:9619/a.b", "", "", false},
		{"https://ce.example.org/arex/abc", "", "", false},
		{"condor:///1.0", "", "", false},
	} {
		e, l, ok := ParseJobID(tc.id)
		if ok != tc.ok || e != tc.endpoint || l != tc.local {
			t.Errorf("ParseJobID(%q) = %q %q %v", tc.id, e, l, ok)
		}
	}
}

func ad(t *testing.T, lines string) *classad.Ad {
	t.Helper()
	a := &classad.Ad{}
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		n, e, err := classad.ParseAttrLine(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		a.Set(n, e)
	}
	return a
}

// Job states as condor_q shows them, mapped to the common ones.
func TestJobStates(t *testing.T) {
	addr, _ := ce.ParseAddress("condor://ce.example.org:9619", "")
	c := &Client{addr: addr}
	for _, tc := range []struct {
		ad, raw string
		state   ce.State
		exit    int
		errText string
	}{
		{"JobStatus = 1", "Idle", ce.StateQueuing, -1, ""},
		{"JobStatus = 2", "Running", ce.StateRunning, -1, ""},
		{"JobStatus = 3\nRemoveReason = \"via condor_rm\"", "Removed", ce.StateKilled, -1, "via condor_rm"},
		{"JobStatus = 4\nExitCode = 3\nExitBySignal = false", "Completed", ce.StateFinished, 3, ""},
		{"JobStatus = 4\nExitBySignal = true\nExitSignal = 9", "Completed", ce.StateFailed, -1, "signal 9"},
		{"JobStatus = 5\nHoldReasonCode = 16\nHoldReason = \"Spooling input data files\"", "Held (spooling input)", ce.StateAccepted, -1, ""},
		{"JobStatus = 5\nHoldReasonCode = 13\nHoldReason = \"Transfer input files failure\"", "Held", ce.StateHeld, -1, "Transfer input files failure"},
		{"JobStatus = 6", "Transferring Output", ce.StateFinishing, -1, ""},
		{"JobStatus = 7", "Suspended", ce.StateRunning, -1, ""},
	} {
		j := c.jobFromAd(ad(t, "ClusterId = 7\nProcId = 2\n"+tc.ad))
		if j.State != tc.state || j.RawState != tc.raw || j.ID != "condor://ce.example.org:9619/7.2" {
			t.Errorf("%q: %s %q %s", tc.ad, j.State, j.RawState, j.ID)
		}
		if (tc.exit >= 0) != (j.ExitCode != nil) || j.ExitCode != nil && *j.ExitCode != tc.exit {
			t.Errorf("%q: exit code %v", tc.ad, j.ExitCode)
		}
		if tc.errText != "" && (len(j.Errors) == 0 || !strings.Contains(j.Errors[0], tc.errText)) {
			t.Errorf("%q: errors %v", tc.ad, j.Errors)
		}
	}
}

func TestClusterConstraint(t *testing.T) {
	got, want, err := clusterConstraint([]string{"5.1", "3.0", "5.0"})
	if err != nil || got != "ClusterId == 3 || ClusterId == 5" || !want["5.1"] || len(want) != 3 {
		t.Fatalf("%q %v %v", got, want, err)
	}
	if _, _, err := clusterConstraint([]string{"x"}); err == nil {
		t.Errorf("a bad id was accepted")
	}
}

// What condor_submit -spool sends: TransferInput, stdin, the proxy and the
// executable (unless TransferExecutable is false), directories with their
// contents, URLs left to the execute side.
func TestInputFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"run.sh", "in.txt", "stdin.txt", "d/a", "d/sub/b"} {
		_ = os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		_ = os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
	}
	a := ad(t, `Iwd = "`+dir+`"
Cmd = "`+dir+`/run.sh"
TransferInput = "in.txt,https://example.org/x,d"
In = "stdin.txt"`)
	var got []string
	for _, f := range (&Client{}).inputFiles(a) {
		got = append(got, f.dest)
	}
	want := "in.txt d d/a d/sub d/sub/b stdin.txt run.sh"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	a.SetBool("TransferExecutable", false)
	a.SetString("TransferInput", "d/")
	got = nil
	for _, f := range (&Client{}).inputFiles(a) {
		got = append(got, f.dest)
	}
	if strings.Join(got, " ") != "a sub sub/b stdin.txt" {
		t.Fatalf("contents only, no executable: %v", got)
	}
}

// Inside an input directory, as HTCondor's file transfer does: a link to a
// file sends the file; a dangling link, a link to a directory and an
// unreadable entry are refused (missing), never silently left out.
func TestInputFilesLinks(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "d")
	_ = os.MkdirAll(filepath.Join(d, "sub"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "target.txt"), []byte("twelve bytes"), 0o640)
	for link, to := range map[string]string{"file-link": "../target.txt", "dangling": "../nope", "dir-link": "sub"} {
		if err := os.Symlink(to, filepath.Join(d, link)); err != nil {
			t.Fatal(err)
		}
	}
	a := ad(t, `Iwd = "`+dir+`"
TransferExecutable = false
TransferInput = "d"`)
	got := map[string]inputFile{}
	for _, f := range (&Client{}).inputFiles(a) {
		got[f.dest] = f
	}
	if f := got["d/file-link"]; f.missing != nil || f.size != 12 || f.mode != 0o640 {
		t.Errorf("a link to a file: %+v, want the file's size and mode", f)
	}
	if f := got["d/dangling"]; f.missing == nil || !strings.Contains(f.missing.Error(), "leads nowhere") {
		t.Errorf("a dangling link: %+v, want it refused", f)
	}
	if f := got["d/dir-link"]; f.missing == nil || !strings.Contains(f.missing.Error(), "link to a directory") {
		t.Errorf("a link to a directory: %+v, want it refused", f)
	}
	if f, ok := got["d/sub"]; !ok || !f.dir {
		t.Errorf("the real directory is missing: %+v", got)
	}
}

func TestSafeJoin(t *testing.T) {
	for _, bad := range []string{"../x", "a/../../x", "", "/", "a\\b", "x\x00"} {
		if _, err := safeJoin("/tmp/d", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if p, err := safeJoin("/tmp/d", "sub/out.txt"); err != nil || p != "/tmp/d/sub/out.txt" {
		t.Errorf("%q %v", p, err)
	}
}

// A proc sends what differs from the cluster ad (the first proc's): in
// the same order or not, a complex expression compared by its text, a
// value the cluster ad has and the proc lacks shadowed with undefined,
// ClusterId/ProcId/JobStatus never.
func TestProcDiff(t *testing.T) {
	base := ad(t, "ClusterId = 7\nProcId = 0\nJobStatus = 5\nA = 1\nB = \"x\"\nOut = \"o.0\"\nReq = (TARGET.Memory >= 64) && true\nGone = 2\nR = 1.5")
	d := newProcDiff(base)
	type kv struct{ name, val string }
	diff := func(src string) []kv {
		var out []kv
		if err := d.each(ad(t, src), func(n string, e classad.Expr) error {
			out = append(out, kv{n, classad.Unparse(e)})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := diff("ClusterId = 7\nProcId = 0\nJobStatus = 5\nA = 1\nB = \"x\"\nOut = \"o.0\"\nReq = (TARGET.Memory >= 64) && true\nGone = 2\nR = 1.5")
	if len(same) != 0 {
		t.Fatalf("identical ad sends %v", same)
	}
	got := diff("ProcId = 1\nJobStatus = 1\nB = \"x\"\nA = 2\nOut = \"o.1\"\nReq = (TARGET.Memory >= 64) && true\nR = 1.5\nNew = \"n\"")
	// ClusterId is set per proc: never shadowed
	want := []kv{{"A", "2"}, {"Out", `"o.1"`}, {"New", `"n"`}, {"Gone", "undefined"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	if got := diff("Req = (TARGET.Memory >= 128) && true\nA = 1\nB = 1"); fmt.Sprint(got) != fmt.Sprint([]kv{
		{"Req", "(TARGET.Memory >= 128) && true"}, {"B", "1"}, {"Out", "undefined"}, {"Gone", "undefined"}, {"R", "undefined"}}) {
		t.Fatalf("%v", got)
	}
}

// Golden bytes of one QMGMT SetAttribute2 with NoAck: call, cluster, proc,
// value before name, then one byte of flags (condor_qmgr.h); on a clear
// stream (encrypted ones prefix each string with its length).
func TestGoldenSetAttribute(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 256)
		n, _ := server.Read(buf)
		got <- buf[:n]
	}()
	q := &qmgmt{conn: cedar.NewConn(client)}
	if err := q.setAttr(12, -1, "Out", classad.String("o.txt")); err != nil {
		t.Fatal(err)
	}
	go q.conn.Flush()
	want, _ := hex.DecodeString("01" + "00000025" + "000000000000272b" + "000000000000000c" + "ffffffffffffffff" +
		hex.EncodeToString([]byte("\"o.txt\"\x00")) + hex.EncodeToString([]byte("Out\x00")) + "02")
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Fatalf("\n got % x\nwant % x", b, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("nothing written")
	}
}

// TestInputFilesFIFO: a FIFO given as an input, or inside an input
// directory, is refused (missing) before anything is sent, and reading one
// swapped in later does not block.
func TestInputFilesFIFO(t *testing.T) {
	dir := t.TempDir()
	_ = os.MkdirAll(filepath.Join(dir, "d"), 0o755)
	for _, f := range []string{"fifo", "d/fifo"} {
		if err := syscall.Mkfifo(filepath.Join(dir, f), 0o600); err != nil {
			t.Skip("mkfifo:", err)
		}
	}
	a := ad(t, `Iwd = "`+dir+`"
TransferExecutable = false
TransferInput = "fifo,d"`)
	got := map[string]inputFile{}
	for _, f := range (&Client{}).inputFiles(a) {
		got[f.dest] = f
	}
	for _, dest := range []string{"fifo", "d/fifo"} {
		if f := got[dest]; f.missing == nil || !strings.Contains(f.missing.Error(), "a FIFO") {
			t.Errorf("%s: %+v, want it refused as a FIFO", dest, f)
		}
	}
	if err := sendable(filepath.Join(dir, "fifo")); err == nil || !strings.Contains(err.Error(), "a FIFO") {
		t.Errorf("pre-check: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := readRegular(filepath.Join(dir, "fifo")); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO was read")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading a FIFO input blocked")
	}
}
