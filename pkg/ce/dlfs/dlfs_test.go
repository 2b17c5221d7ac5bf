package dlfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenOnlyOwnFolders(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "a", "job")
	d, err := Open(dir, "ce/job")
	if err != nil {
		t.Fatal(err)
	}
	d.Close() // interrupted: the marker stays
	if _, err := Open(dir, "ce/other"); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("the folder of another job's get: %v", err)
	}
	d, err = Open(dir, "ce/job")
	if err != nil {
		t.Fatalf("the folder of the same job's interrupted get: %v", err)
	}
	if err := d.Done(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, MarkerName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("marker left after Done: %v", err)
	}
	if _, err := Open(dir, "ce/job"); err == nil {
		t.Error("a completed download's folder was opened again")
	}
	file := filepath.Join(top, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file, "ce/job"); err == nil {
		t.Error("a file was taken for a folder")
	}
}

// TestMarkerLinkRefused: a marker that is a link to a real marker does not
// make a folder cesub's.
func TestMarkerLinkRefused(t *testing.T) {
	top := t.TempDir()
	own := filepath.Join(top, "own")
	d, err := Open(own, "j")
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	other := filepath.Join(top, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(own, MarkerName), filepath.Join(other, MarkerName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(other, "j"); err == nil {
		t.Error("a linked marker was accepted")
	}
}

func TestFileBoundAndResume(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "j"), "j")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := d.Create("sub/out", 6, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("defg")); !errors.Is(err, ErrTooLong) {
		t.Fatalf("7 bytes into a 6-byte file: %v", err)
	}
	if err := f.Keep(); err != nil {
		t.Fatal(err)
	}
	f, err = d.Create("sub/out", 6, true)
	if err != nil || f.Have() != 3 {
		t.Fatalf("resume: %v, have %d", err, f.Have())
	}
	if _, err := f.Write([]byte("def")); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(0o4777); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(d.Path(), "sub", "out"))
	if err != nil || fi.Size() != 6 || fi.Mode() != 0o755 {
		t.Errorf("committed: %v %v", fi, err)
	}
	if done, err := d.Complete("sub/out", 6); !done || err != nil {
		t.Errorf("Complete: %v %v", done, err)
	}
}

// TestPartLinkRefused: a part file that is a link is not resumed through.
func TestPartLinkRefused(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "j"), "j")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("ab"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(d.Path(), "out"+PartSuffix)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create("out", 10, true); err == nil || !strings.Contains(err.Error(), "link") {
		t.Errorf("a linked part file: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "ab" {
		t.Errorf("victim now %q", b)
	}
}

func TestCheckName(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/../b", "/abs", "a//b", "a\\b", "x\x00", "esc\x1b[2J", "nl\n", "del\x7f",
		MarkerName, "out" + PartSuffix, "sub/" + MarkerName} {
		if CheckName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"out", "sub/out.txt", "héllo wörld", ".hidden"} {
		if err := CheckName(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}
