package jobstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/cesub/cesub/internal/ownfile"
)

// ModeFix reports a job list other users could read, which Open made 0600
// (Err says why it could not).
type ModeFix struct {
	Old fs.FileMode // 0: the mode was already right
	Err error
}

// claim makes sure path is the user's own job list before SQLite opens it:
// a new list is created 0600 without following a symlink (O_EXCL|O_NOFOLLOW);
// an existing one, or a symlink, must resolve to a regular file the user
// owns that others cannot write (a row planted there would send the user's
// token to a CE of the planter's choosing). fi is the file claimed.
func claim(path string) (fi fs.FileInfo, fix ModeFix, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err == nil {
		defer f.Close()
		fi, err = f.Stat()
		return fi, fix, err
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, fix, err
	}
	return claimExisting(path)
}

func claimExisting(path string) (fs.FileInfo, ModeFix, error) {
	var fix ModeFix
	f, fi, err := ownfile.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if lfi, lerr := os.Lstat(path); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			return nil, fix, fmt.Errorf("%s is a symlink to %s, which does not exist: refused "+
				"(cesub never creates a job list through a symlink); remove the link or give -j a new file", path, target)
		}
	}
	if err != nil {
		return nil, fix, err
	}
	defer f.Close()
	if err := ownfile.Check(path, fi, os.Geteuid()); err != nil {
		return nil, fix, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		fix = ModeFix{Old: perm, Err: f.Chmod(0o600)} // through the descriptor: no link followed
	}
	return fi, fix, nil
}

// checkSideFiles refuses SQLite's -wal and -shm files of the list when they
// are symlinks or are not the user's own: SQLite would read rows from them.
func checkSideFiles(path string) error {
	for _, p := range []string{path + "-wal", path + "-shm"} {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink: refused (SQLite would read the job list's rows from it); remove it", p)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file: refused", p)
		}
		if err := ownfile.Check(p, fi, os.Geteuid()); err != nil {
			return err
		}
	}
	return nil
}

// tightenSideFiles makes existing -wal and -shm files 0600 (a list made by
// an older cesub), without following a link. It must run before SQLite opens
// the list: closing a descriptor of a file releases all of the process's
// POSIX locks on it, and SQLite locks the -shm file (SQLITE_IOERR_IN_PAGE,
// "disk I/O error (8714)", under 50 concurrent processes).
func tightenSideFiles(path string) {
	for _, p := range []string{path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			_ = f.Chmod(0o600)
		}
		f.Close()
	}
}

// stillClaimed checks that the file SQLite opened at path is the one claim
// checked (not swapped for another in between).
func stillClaimed(path string, claimed fs.FileInfo) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !os.SameFile(fi, claimed) {
		return errors.New("the file was replaced while cesub opened it: refused")
	}
	return nil
}
