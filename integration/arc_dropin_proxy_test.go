package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// TestArcDropInProxy: the host's real arcproxy (ARC 6.17) and cesub's make
// a proxy each from the testbed's user certificate; each then reads both
// with -I and -i, and the lines agree (the proxy's serial CN and the time
// left by shape and within a minute).
func TestArcDropInProxy(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	if _, err := exec.LookPath("arcproxy"); err != nil {
		t.Skip("no arcproxy on the host")
	}
	dir := t.TempDir()
	links := t.TempDir()
	if err := os.Symlink(cesubBinary(t), filepath.Join(links, "arcproxy")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "X509_CERT_DIR=" + tb.Get(t, "X509_CERT_DIR"), "LANG=C",
		"XDG_CONFIG_HOME=" + t.TempDir()}
	run := func(real bool, args ...string) result {
		cmd := exec.Command("arcproxy", args...)
		if !real {
			cmd = exec.Command(filepath.Join(links, "arcproxy"), args...)
		}
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return result{out: string(out), code: code}
	}
	made := regexp.MustCompile(`^Your identity: /DC=org/DC=nordugrid/DC=ARC/O=TestCA/CN=cesub user\nProxy generation succeeded\n` +
		`Your proxy is valid until: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$`)
	info := regexp.MustCompile(`^Subject: /DC=org/DC=nordugrid/DC=ARC/O=TestCA/CN=cesub user/CN=\d+\n` +
		`Issuer: /DC=org/DC=nordugrid/DC=ARC/O=TestCA/CN=cesub user\nIdentity: /DC=org/DC=nordugrid/DC=ARC/O=TestCA/CN=cesub user\n` +
		`Time left for proxy: (1 hour 59 minutes \d+ seconds?|2 hours)\nProxy path: .*/p[12]\n` +
		`Proxy type: X.509 Proxy Certificate Profile RFC compliant impersonation proxy - RFC inheritAll proxy\n` +
		`Proxy key length: 2048\nProxy signature: sha256\n$`)
	for i, real := range []bool{true, false} {
		p := filepath.Join(dir, "p"+strconv.Itoa(i+1))
		r := run(real, "-C", tb.Get(t, "CESUB_TESTBED_USERCERT"), "-K", tb.Get(t, "CESUB_TESTBED_USERKEY"), "-P", p, "-c", "validityPeriod=2h")
		if r.code != 0 || !made.MatchString(r.out) {
			t.Fatalf("arcproxy (real=%v): %d %q", real, r.code, r.out)
		}
	}
	for _, real := range []bool{true, false} {
		for _, p := range []string{"p1", "p2"} {
			path := filepath.Join(dir, p)
			if r := run(real, "-P", path, "-I"); r.code != 0 || !info.MatchString(r.out) {
				t.Errorf("arcproxy -I %s (real=%v): %d %q", p, real, r.code, r.out)
			}
			left, _ := strconv.Atoi(run(real, "-P", path, "-i", "validityLeft").out[:4])
			if left < 7000 || left > 7200 {
				t.Errorf("arcproxy -i validityLeft %s (real=%v): %d", p, real, left)
			}
			for _, item := range []string{"identity", "issuer", "path", "type", "validityEnd", "validityStart"} {
				a, b := run(true, "-P", path, "-i", item), run(false, "-P", path, "-i", item)
				if a.code != 0 || a != b {
					t.Errorf("arcproxy -i %s on %s: real %d %q, cesub %d %q", item, p, a.code, a.out, b.code, b.out)
				}
			}
		}
		if r := run(real, "-P", filepath.Join(dir, "p1"), "-i", "bogus"); r.code != 1 {
			t.Errorf("arcproxy -i bogus (real=%v): %d", real, r.code)
		}
	}
	for i, real := range []bool{true, false} {
		p := filepath.Join(dir, "p"+strconv.Itoa(2-i)) // each removes the other's
		if r := run(real, "-P", p, "-r"); r.code != 0 {
			t.Errorf("arcproxy -r (real=%v): %d", real, r.code)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("arcproxy -r (real=%v) left %s", real, p)
		}
	}
}
