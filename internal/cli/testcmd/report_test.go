package testcmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
)

// TestJUnitIsScrubbed: a token a CE echoed into a failure reason is not
// written into the JUnit file (0644, read by CI systems).
func TestJUnitIsScrubbed(t *testing.T) {
	s := &cmdutil.IOStreams{Out: &strings.Builder{}, ErrOut: &strings.Builder{}}
	s.Guard()
	tok := "opaque-token-5f2d8c1a9e7b4036"
	s.Secrets().Add(tok)
	reason := "auth: 400 Bad Request: echo Authorization: Bearer " + tok
	rs := []Result{{Name: "ce1", CE: "https://ce1:443/arex", Flavour: "arc", Reason: reason,
		Steps: []Step{{Name: "auth", Detail: reason}}}}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := writeJUnit(path, rs, time.Now(), s.Secrets().Scrub); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), tok) || !strings.Contains(string(b), "Bearer [REDACTED]") {
		t.Errorf("JUnit file not scrubbed:\n%s", b)
	}
}
