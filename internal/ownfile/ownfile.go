// Package ownfile reads the files that decide who cesub acts as and where it
// sends credentials (token files, proxies, the job list) the way ssh reads
// keys: through one descriptor, refusing a file that is not regular, that
// another user owns or that other users may write.
package ownfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// NotOwnedError is a file that belongs to another user: whoever owns it
// chooses what cesub reads from it.
type NotOwnedError struct {
	Path  string
	Owner int
	EUID  int
}

func (e *NotOwnedError) Error() string {
	return fmt.Sprintf("%s belongs to uid %d, not to you (uid %d): refused, since its owner decides what cesub uses; "+
		"remove it, or if you trust its contents copy it to a file of your own", e.Path, e.Owner, e.EUID)
}

// WritableError is a file other users may write.
type WritableError struct {
	Path string
	Mode fs.FileMode
}

func (e *WritableError) Error() string {
	return fmt.Sprintf("%s has mode %04o: other users can write it: refused; if you trust its contents, chmod 600 %s",
		e.Path, e.Mode.Perm(), e.Path)
}

// Open opens path for reading (following a symlink: the descriptor's file is
// what is checked) without blocking on a FIFO, and refuses anything but a
// regular file. fi is the fstat of the returned descriptor.
func Open(path string) (f *os.File, fi fs.FileInfo, err error) {
	f, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file (%s)", path, TypeName(fi.Mode()))
	}
	return f, fi, nil
}

// ReadFile reads a regular file through one descriptor; fi is its fstat.
// It does not check the owner: see Check.
func ReadFile(path string) ([]byte, fs.FileInfo, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, fi, nil
}

// Check refuses a file (as fstat described it) that euid does not own or
// that its group or other users may write. A FileInfo without an owner (a
// test double) passes the owner check.
func Check(path string, fi fs.FileInfo, euid int) error {
	if uid, ok := Owner(fi); ok && uid != euid {
		return &NotOwnedError{Path: path, Owner: uid, EUID: euid}
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return &WritableError{Path: path, Mode: fi.Mode()}
	}
	return nil
}

// Owner is the uid owning a file, when fi carries it.
func Owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// TypeName says what kind of file m is, for errors ("a FIFO").
func TypeName(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeSymlink != 0:
		return "a symlink"
	default:
		return "a file of type " + t.String()
	}
}
