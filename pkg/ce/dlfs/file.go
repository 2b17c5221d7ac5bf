package dlfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrTooLong marks a file the CE sent more of than it announced.
var ErrTooLong = errors.New("longer than the CE announced")

// File is a file being downloaded, NAME.cesub-part until Commit.
type File struct {
	f      *os.File
	folder *os.Root // the file's folder
	name   string   // its base name
	path   string   // its path, for messages
	size   int64    // the size the CE announced
	n      int64    // bytes in the part file
}

// Create starts the file p (a name CheckName accepts) of size bytes,
// making its folders. With resume, a part file cesub left that is shorter
// than size is continued: Have tells how many bytes it holds.
func (d *Dir) Create(p string, size int64, resume bool) (*File, error) {
	if err := CheckName(p); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	dir, base := path.Split(p)
	folder, err := d.folder(strings.TrimSuffix(dir, "/"), true)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(d.path, filepath.FromSlash(p))
	f, have, err := openPart(folder, base+PartSuffix, size, resume)
	if err != nil {
		folder.Close()
		return nil, fmt.Errorf("get %s: %w", full, err)
	}
	return &File{f: f, folder: folder, name: base, path: full, size: size, n: have}, nil
}

// openPart opens a part file: cesub's own to continue, else a new one (an
// old one of cesub's is removed first; anything else in the way refused).
func openPart(folder *os.Root, part string, size int64, resume bool) (*os.File, int64, error) {
	f, err := openExisting(folder, part, os.O_WRONLY)
	switch {
	case err == nil:
		if have, err := f.Seek(0, io.SeekEnd); err == nil && resume && have < size {
			return f, have, nil
		}
		f.Close()
		if err := folder.Remove(part); err != nil {
			return nil, 0, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, 0, err
	}
	f, err = folder.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	return f, 0, err
}

// Have is how many bytes the file holds.
func (f *File) Have() int64 { return f.n }

// Restart empties the file (the CE sent it whole after all).
func (f *File) Restart() error {
	if err := f.f.Truncate(0); err != nil {
		return err
	}
	_, err := f.f.Seek(0, io.SeekStart)
	f.n = 0
	return err
}

// Write appends b, refusing (writing nothing) past the announced size.
func (f *File) Write(b []byte) (int, error) {
	if int64(len(b)) > f.size-f.n {
		return 0, fmt.Errorf("%s: %w (%d bytes)", f.path, ErrTooLong, f.size)
	}
	n, err := f.f.Write(b)
	f.n += int64(n)
	return n, err
}

// Keep closes the part file for a later get to continue.
func (f *File) Keep() error {
	err := f.f.Close()
	f.folder.Close()
	return err
}

// Abort closes and removes the part file.
func (f *File) Abort() error {
	f.f.Close()
	err := f.folder.Remove(f.name + PartSuffix)
	f.folder.Close()
	return err
}

// Commit gives a complete file its mode (at most MaxMode) and renames it
// into place. A regular file of that name is replaced (in cesub's own
// folder, one an interrupted get left); a link or folder is refused. An
// incomplete file is kept for a later get.
func (f *File) Commit(mode fs.FileMode) error {
	if f.n != f.size {
		f.Keep()
		return fmt.Errorf("get %s: got %d of %d bytes", f.path, f.n, f.size)
	}
	err := f.f.Chmod(mode & MaxMode)
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = place(f.folder, f.name+PartSuffix, f.name)
	}
	if err != nil {
		f.folder.Remove(f.name + PartSuffix)
		f.folder.Close()
		return fmt.Errorf("get %s: %w", f.path, err)
	}
	return f.folder.Close()
}

// place renames part to name unless something other than a regular file
// is there. Rename replaces the name itself and never writes through a link.
func place(folder *os.Root, part, name string) error {
	if fi, err := folder.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("a %s is in the way: not replaced", kind(fi))
	}
	return folder.Rename(part, name)
}

// Complete reports whether p is already there whole (a regular file of
// size bytes, left by an interrupted get); a link in its way is an error.
func (d *Dir) Complete(p string, size int64) (bool, error) {
	if err := CheckName(p); err != nil {
		return false, fmt.Errorf("get: %w", err)
	}
	dir, base := path.Split(p)
	folder, err := d.folder(strings.TrimSuffix(dir, "/"), false)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer folder.Close()
	fi, err := folder.Lstat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get: %w", err)
	case !fi.Mode().IsRegular():
		return false, fmt.Errorf("get %s: a %s is in the way: not replaced", filepath.Join(d.path, filepath.FromSlash(p)), kind(fi))
	}
	return fi.Size() == size, nil
}
