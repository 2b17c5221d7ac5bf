package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/jobstore"
)

// TestJobListOfAnotherUserIsRefused: cesub refuses a job list another user
// owns (mode 0666: the case where it used to print "made it 0600"), exit 2,
// naming the file and the owner, and leaves it alone; a readable list of the
// user's own is made 0600 and says so.
func TestJobListOfAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another uid needs root")
	}
	mk := func(mode os.FileMode, owner int) string {
		path := filepath.Join(t.TempDir(), "jobs.db")
		s, err := jobstore.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(path, owner, owner); err != nil {
			t.Fatal(err)
		}
		return path
	}
	theirs := mk(0o666, 12345)
	r := run(t, nil, "status", "-a", "-j", theirs)
	if r.code != 2 || !strings.Contains(r.err, theirs) || !strings.Contains(r.err, "uid 12345") || strings.Contains(r.err, "made it 0600") {
		t.Errorf("another user's 0666 list: exit %d, stderr %q; want exit 2 naming %s and uid 12345, no \"made it 0600\"", r.code, r.err, theirs)
	}
	if fi, _ := os.Stat(theirs); fi.Mode().Perm() != 0o666 {
		t.Errorf("another user's list was changed to %04o", fi.Mode().Perm())
	}
	mine := mk(0o644, os.Geteuid())
	r = run(t, nil, "status", "-a", "-j", mine)
	if fi, _ := os.Stat(mine); fi.Mode().Perm() != 0o600 || !strings.Contains(r.err, "had mode 0644") || !strings.Contains(r.err, "made it 0600") {
		t.Errorf("own 0644 list: mode %04o, stderr %q; want it made 0600 and said so", fi.Mode().Perm(), r.err)
	}
}
