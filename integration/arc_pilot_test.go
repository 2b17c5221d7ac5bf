package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// pilotTools are the programs examples/arc-pilot.sh needs besides the ARC client.
var pilotTools = []string{"sh", "grep", "wc", "mktemp", "cat", "mkdir", "sleep", "printf"}

// TestArcDropInPilotScript runs examples/arc-pilot.sh, written for the
// ARC client, unchanged with cesub's links first on PATH and no ARC client
// reachable (PATH holds only the links and the shell tools it uses), on
// A-REX 6.17 and ARC 7; and once with the host's real ARC 6.17 client.
func TestArcDropInPilotScript(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	root, _ := testbed.RepoRoot()
	script := filepath.Join(root, "examples", "arc-pilot.sh")
	for _, s := range arcSides(t, tb) {
		t.Run(s.name+"/cesub", func(t *testing.T) {
			env := append(pathOnly(t, s.links), withoutPath(s.cesubEnv)...)
			runPilot(t, exec.Command("sh", script, s.url, "2"), env, t.TempDir())
		})
		if s.name == "ARC-6.17" {
			t.Run(s.name+"/real", func(t *testing.T) {
				runPilot(t, exec.Command("sh", script, s.url, "2"), s.realEnv, t.TempDir())
			})
		}
	}
}

// runPilot runs the script and checks what it prints.
func runPilot(t *testing.T, cmd *exec.Cmd, env []string, dir string) {
	t.Helper()
	cmd.Env = append(env, "ARC_PILOT_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("arc-pilot.sh: %v\n%s", err, out)
	}
	want := regexp.MustCompile(`(?s)^submitted 2 pilots\nResults stored at: .*/out/[A-Za-z0-9]+\nResults stored at: .*/out/[A-Za-z0-9]+\n` +
		`Jobs processed: 2, successfully retrieved: 2, successfully cleaned: 2\n(pilot [12]\n){2}failed: 0, non-zero exit: 0\n$`)
	if !want.Match(out) {
		t.Errorf("arc-pilot.sh printed:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pilot-ids.txt")); strings.Count(string(b), "\n") != 2 {
		t.Errorf("ids file: %q", b)
	}
}

// pathOnly is a PATH of the links folder and a folder of the shell tools
// the script uses (nothing else: no ARC client).
func pathOnly(t *testing.T, links string) []string {
	tools := t.TempDir()
	for _, n := range pilotTools {
		p, err := exec.LookPath(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if err := os.Symlink(p, filepath.Join(tools, n)); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"PATH=" + links + ":" + tools}
}

func withoutPath(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "PATH=") {
			out = append(out, e)
		}
	}
	return out
}
