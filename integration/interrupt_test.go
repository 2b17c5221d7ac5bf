package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
)

// interruptSubmit runs `cesub --debug submit` with env, waits for the debug
// line that says the CE has created the job, lets the upload run a moment,
// sends sig, and returns the exit code and what cesub printed.
func interruptSubmit(t *testing.T, env []string, created string, sig syscall.Signal, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(cesubBinary(t), append([]string{"--debug", "submit"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errText strings.Builder
	sc := bufio.NewScanner(stderr)
	seen := false
	for sc.Scan() {
		errText.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), created) {
			seen = true
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // inside the upload of the large input
	_ = cmd.Process.Signal(sig)
	rest, _ := io.ReadAll(stderr)
	errText.Write(rest)
	_ = cmd.Wait()
	if !seen {
		t.Fatalf("never saw %q:\n%s", created, errText.String())
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("cesub died of %v instead of stopping cleanly", ws.Signal())
	}
	return ws.ExitStatus(), out.String(), errText.String()
}

func sparseFile(t *testing.T, dir string, size int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Truncate(size) // sparse: quick to read, long enough to send
	f.Close()
}

// Ctrl-C in the middle of an upload to A-REX: cesub stops, says what the CE
// created (stdout) and that the upload failed, keeps the job on the job
// list, and exits 130.
func TestInterruptedUploadKeepsJob(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	sparseFile(t, dir, 2<<30)
	desc := filepath.Join(dir, "big.xrsl")
	_ = os.WriteFile(desc, []byte(`&(executable="/bin/true")(jobname="interrupted")(inputfiles=("big.bin" ""))`), 0o644)
	joblist := filepath.Join(dir, "jobs.db")
	code, out, errText := interruptSubmit(t, []string{"BEARER_TOKEN_FILE=" + tb.Get(t, "CESUB_TESTBED_TOKEN_FILE"), "CESUB_JOBLIST=" + joblist,
		"XDG_CONFIG_HOME=" + t.TempDir(), "X509_CERT_DIR=" + tb.Vars["X509_CERT_DIR"]},
		"< 201 Created", syscall.SIGINT, "-C", tb.Get(t, "CESUB_TESTBED_AREX_URL"), desc)
	id := strings.TrimSpace(out)
	if code != 130 || id == "" || !strings.Contains(errText, "cesub: interrupt: stopping") || !strings.Contains(errText, "was created but an input upload failed") {
		t.Fatalf("exit %d, stdout %q:\n%s", code, out, errText)
	}
	env := jobEnv(t, tb, joblist)
	r := cesub(t, tb, env, "status", "-a", "-o", "json")
	var st struct{ Jobs []struct{ ID string } }
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || len(st.Jobs) != 1 || st.Jobs[0].ID != id {
		t.Fatalf("the interrupted submission's job is not on record: %v %s %s", err, r.out, r.err)
	}
	_ = cesub(t, tb, env, "kill", id)
}

// SIGTERM (a pilot factory's timeout) while spooling to the schedd: the
// same, exit 143.
func TestTerminatedSpoolKeepsJob(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	sparseFile(t, dir, 1<<30)
	_ = os.WriteFile(filepath.Join(dir, "job.sub"), []byte("executable = /bin/true\ntransfer_executable = false\ntransfer_input_files = big.bin\nrequirements = false\nqueue\n"), 0o644)
	joblist := filepath.Join(dir, "jobs.db")
	code, out, errText := interruptSubmit(t, []string{"BEARER_TOKEN_FILE=" + tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST=" + joblist,
		"XDG_CONFIG_HOME=" + t.TempDir(), "X509_CERT_DIR=" + tb.Vars["X509_CERT_DIR"]},
		"committed with", syscall.SIGTERM, "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "-f", filepath.Join(dir, "job.sub"))
	id := strings.TrimSpace(out)
	if code != 143 || id == "" || !strings.Contains(errText, "cesub: terminated: stopping") {
		t.Fatalf("exit %d, stdout %q:\n%s", code, out, errText)
	}
	env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": joblist}
	r := cesub(t, tb, env, "status", "-a", "-o", "json")
	var st struct{ Jobs []struct{ ID string } }
	if err := json.Unmarshal([]byte(r.out), &st); err != nil || len(st.Jobs) != 1 || st.Jobs[0].ID != id {
		t.Fatalf("the terminated submission's job is not on record: %v %s %s", err, r.out, r.err)
	}
	if r := cesub(t, tb, env, "clean", id); r.code != 0 {
		t.Errorf("clean: %d %s", r.code, r.err)
	}
}
