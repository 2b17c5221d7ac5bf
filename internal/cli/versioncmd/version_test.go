package versioncmd

import (
	"runtime"
	"strings"
	"testing"
)

// TestLineStamped: a release build's commit and date (set by the linker) show
// in the line `cesub version` and `cesub --version` print; a local build's
// line has neither.
func TestLineStamped(t *testing.T) {
	if got := Line("dev"); strings.Contains(got, "commit") || !strings.HasPrefix(got, "cesub dev ("+runtime.Version()) {
		t.Errorf("unstamped line %q", got)
	}
	oldCommit, oldDate := commit, date
	t.Cleanup(func() { commit, date = oldCommit, oldDate })
	commit, date = "0123456789abcdef0123456789abcdef01234567", "2026-12-07T02:40:00Z"
	got := Line("1.2.3")
	want := "cesub 1.2.3 (commit 0123456789ab, 2026-12-07T02:40:00Z, " + runtime.Version()
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, runtime.GOOS+"/"+runtime.GOARCH+")\n") {
		t.Errorf("stamped line %q, want prefix %q", got, want)
	}
}
