package submitfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefusedAsCondorSubmitRefuses: what condor_submit 23.9.6 refuses for
// static reasons (each checked against it in the testbed's chroot) is a
// positioned error; with CheckFiles, also the files it checks.
func TestRefusedAsCondorSubmitRefuses(t *testing.T) {
	dir := t.TempDir()
	proxy := filepath.Join(dir, "x509up")
	_ = os.WriteFile(proxy, []byte("x"), 0o600)
	for _, tc := range []struct {
		name, src string
		check     bool
		queue     string
		want      string // "" = accepted
	}{
		{"no executable", "arguments = x\nqueue\n", false, "", "f.sub:2:1: no executable given"},
		{"empty queue count", "executable = /bin/true\nN = $ENV(CESUB_NOT_SET_EVER)\nqueue $(N)\n", false, "", `f.sub:3:1: queue count ""`},
		{"standard universe", "universe = standard\nexecutable = /bin/true\nqueue\n", false, "", "f.sub:1:1: the standard universe is not supported"},
		{"grid without resource", "universe = grid\nexecutable = x\nqueue\n", false, "", "f.sub:3:1: grid universe: no grid_resource"},
		{"unknown grid type", "universe = grid\ngrid_resource = cream ce.example.org:8443/ce-cream/services/CREAM2 pbs q\nexecutable = x\nqueue\n", false, "", `f.sub:2:1: grid_resource type "cream" is not one of`},
		{"nordugrid is gone", "universe = grid\ngrid_resource = nordugrid ce.example.org\nexecutable = x\nqueue\n", false, "", `grid_resource type "nordugrid"`},
		{"arc grid type", "universe = grid\ngrid_resource = arc https://ce.example.org/arex\nexecutable = x\nqueue\n", false, "", ""},
		{"batch subtype", "universe = grid\ngrid_resource = PBS\nexecutable = x\nqueue\n", false, "", ""},
		{"match-time type", "universe = grid\ngrid_resource = $$(ResourceType) x\nexecutable = x\nqueue\n", false, "", ""},
		{"missing executable", "executable = /no/such/exe\nqueue\n", true, "", "f.sub:1:1: executable file /no/such/exe does not exist"},
		{"executable not transferred", "executable = /no/such/exe\ntransfer_executable = false\nqueue\n", true, "", ""},
		{"missing initialdir", "executable = /bin/true\ninitialdir = /no/such/dir\nqueue\n", true, "", "f.sub:2:1: initialdir /no/such/dir is not a directory"},
		{"missing proxy", "executable = /bin/true\nx509userproxy = /no/such/proxy\nqueue\n", true, "", "f.sub:2:1: x509userproxy /no/such/proxy cannot be read"},
		{"all there", "executable = /bin/true\ninitialdir = " + dir + "\nx509userproxy = " + proxy + "\nqueue\n", true, "", ""},
		{"files not checked when describing", "executable = /no/such/exe\nqueue\n", false, "", ""},
		{"--queue and a queue statement", "executable = /bin/true\nqueue 2\n", false, "3", "f.sub:2:1: --queue conflicts with the queue statement here"},
		{"--queue alone", "executable = /bin/true\n", false, "3", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jobs, err := Jobs("f.sub", []byte(tc.src), ParseOptions{Options: Options{Dir: dir, CheckFiles: tc.check}, Queue: tc.queue})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			case tc.want == "" && tc.queue == "3" && len(jobs) != 3:
				t.Fatalf("--queue 3 made %d jobs", len(jobs))
			}
		})
	}
}
