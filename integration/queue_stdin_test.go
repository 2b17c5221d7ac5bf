package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
)

// TestHTCondorQueueFromStdin: `cesub submit FILE` with `queue item from -`
// reads the items from standard input once, and the HTCondor backend,
// which reads the file again to make the ads, gets the same items: one job
// per line, each with its own argument (they used to be refused: "no
// standard input to read items from").
func TestHTCondorQueueFromStdin(t *testing.T) {
	t.Parallel()
	tb := testbed.Require(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "job.sh"), []byte("#!/bin/sh\necho item=$1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := "executable = job.sh\narguments = $(item)\noutput = out.$(item)\nqueue item from -\n"
	if err := os.WriteFile(filepath.Join(dir, "q.sub"), []byte(sub), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE"), "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	cmd := exec.Command(cesubBinary(t), "submit", "-C", tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), "q.sub", "-o", "json")
	cmd.Dir, cmd.Stdin = dir, strings.NewReader("red\ngreen\nblue\n")
	cmd.Env = append(os.Environ(), "BEARER_TOKEN_FILE="+env["BEARER_TOKEN_FILE"], "CESUB_JOBLIST="+env["CESUB_JOBLIST"],
		"XDG_CONFIG_HOME="+t.TempDir(), "X509_CERT_DIR="+tb.Vars["X509_CERT_DIR"])
	out, err := cmd.Output()
	var res struct{ Jobs []struct{ ID, Error string } }
	if err != nil || json.Unmarshal(out, &res) != nil || len(res.Jobs) != 3 {
		t.Fatalf("submit: %v %s", err, out)
	}
	defer cesub(t, tb, env, "clean", "-a")
	for _, j := range res.Jobs {
		if j.Error != "" {
			t.Fatalf("job: %+v", j)
		}
		waitState(t, tb, env, j.ID, "FINISHED", 4*time.Minute)
	}
	if r := cesub(t, tb, env, "get", "-a", "--dir", filepath.Join(dir, "got")); r.code != 0 {
		t.Fatalf("get: %d %s", r.code, r.err)
	}
	var got []string
	for _, c := range []string{"red", "green", "blue"} {
		matches, _ := filepath.Glob(filepath.Join(dir, "got", "*", "out."+c))
		for _, m := range matches {
			b, _ := os.ReadFile(m)
			got = append(got, strings.TrimSpace(string(b)))
		}
	}
	if want := []string{"item=red", "item=green", "item=blue"}; !slices.Equal(got, want) {
		t.Errorf("outputs %v, want %v", got, want)
	}
}
