package jobstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const otherUID = 12345 // "another user"

// plantedList makes a job list holding one row (a CE of the planter's
// choosing), with mode and owner (-1: the test's own uid).
func plantedList(t *testing.T, path string, mode os.FileMode, owner int) {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(context.Background(), Job{ID: "https://evil.example/arex/rest/1.0/jobs/x", LocalID: "x",
		CE: "https://evil.example/arex", Flavour: "arc", Submitted: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if owner >= 0 {
			chownOrSkip(t, p, owner)
		}
	}
}

func chownOrSkip(t *testing.T, path string, owner int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another uid needs root")
	}
	if err := os.Lchown(path, owner, owner); err != nil {
		t.Fatal(err)
	}
}

// TestOtherUsersListIsRefused: a job list (or its -wal/-shm, or the target
// of a symlink at the -j path) another user owns, or one others may write,
// is refused naming the file; a dangling symlink at the path is refused and
// nothing is created at its target; a readable list of the user's own is
// opened and made 0600.
func TestOtherUsersListIsRefused(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) (path, named string)
		want  []string // "" opens
	}{
		{"other user's 0666", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "jobs.db")
			plantedList(t, p, 0o666, otherUID)
			return p, p
		}, []string{"belongs to uid 12345", "refused"}},
		{"own 0666", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "jobs.db")
			plantedList(t, p, 0o666, -1)
			return p, p
		}, []string{"mode 0666", "other users can write it", "refused"}},
		{"symlink to other user's list", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "jobs.db")
			plantedList(t, p, 0o600, otherUID)
			return p, symlink(t, p, filepath.Join(dir, "link.db"))
		}, []string{"belongs to uid 12345"}},
		{"other user's -shm", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "jobs.db")
			plantedList(t, p, 0o600, -1)
			if err := os.WriteFile(p+"-shm", nil, 0o600); err != nil {
				t.Fatal(err)
			}
			chownOrSkip(t, p+"-shm", otherUID)
			return p, p
		}, []string{"-shm belongs to uid 12345"}},
		{"dangling symlink", func(t *testing.T, dir string) (string, string) {
			return filepath.Join(dir, "target.db"), symlink(t, filepath.Join(dir, "target.db"), filepath.Join(dir, "jobs.db"))
		}, []string{"symlink", "does not exist", "refused"}},
		{"symlink to own list", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "jobs.db")
			plantedList(t, p, 0o600, -1)
			return p, symlink(t, p, filepath.Join(dir, "link.db"))
		}, nil},
		{"own 0644", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "jobs.db")
			plantedList(t, p, 0o644, -1)
			return p, p
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file, named := c.setup(t, t.TempDir())
			s, err := Open(context.Background(), named)
			if c.want == nil {
				openedPrivate(t, s, err, file)
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("job list %s opened; want it refused", named)
			}
			for _, w := range append(c.want, named) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.name == "dangling symlink" {
				if _, err := os.Lstat(file); err == nil {
					t.Errorf("the symlink's target %s was created", file)
				}
			}
		})
	}
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

func openedPrivate(t *testing.T, s *Store, err error, file string) {
	t.Helper()
	if err != nil {
		t.Fatalf("own list refused: %v", err)
	}
	defer s.Close()
	if jobs, err := s.List(context.Background(), Filter{}); err != nil || len(jobs) != 1 {
		t.Errorf("list: %d jobs, %v", len(jobs), err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v %v, want mode 0600", file, fi.Mode(), err)
	}
}
