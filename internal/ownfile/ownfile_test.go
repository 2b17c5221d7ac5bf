package ownfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileRefusesWhatIsNotARegularFile: a FIFO (without blocking), a
// device and a directory are refused by what the descriptor is.
func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	for path, want := range map[string]string{fifo: "a FIFO", "/dev/null": "a device", dir: "a directory"} {
		done := make(chan error, 1)
		go func() { _, _, err := ReadFile(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "is not a regular file ("+want+")") {
				t.Errorf("%s: %v, want refused as %s", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: ReadFile blocked", path)
		}
	}
}

// TestCheck: another uid's file and a group- or world-writable one are
// refused with the owner or mode; a readable own file passes.
func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(mode os.FileMode) error {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, fi, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return Check(path, fi, os.Geteuid())
	}
	var we *WritableError
	if err := check(0o644); err != nil {
		t.Errorf("own 0644: %v", err)
	}
	if err := check(0o660); !errors.As(err, &we) || we.Mode.Perm() != 0o660 {
		t.Errorf("own 0660: %v, want a WritableError", err)
	}
	_, fi, _ := ReadFile(path)
	var no *NotOwnedError
	if err := Check(path, fi, os.Geteuid()+1); !errors.As(err, &no) || no.Owner != os.Geteuid() || !strings.Contains(err.Error(), path) {
		t.Errorf("someone else's: %v, want a NotOwnedError naming the file and owner", err)
	}
}
