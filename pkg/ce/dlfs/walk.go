package dlfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Mkdir makes the folder p (a name CheckName accepts) and those above it.
func (d *Dir) Mkdir(p string) error {
	if err := CheckName(p); err != nil {
		return fmt.Errorf("get: %w", err)
	}
	folder, err := d.folder(p, true)
	if err != nil {
		return err
	}
	return folder.Close()
}

// folder opens the subfolder dir ("" for the job's folder) one name at a
// time, making what is missing when create; a link anywhere is refused.
func (d *Dir) folder(dir string, create bool) (*os.Root, error) {
	cur, err := d.root.OpenRoot(".")
	if err != nil || dir == "" {
		return cur, err
	}
	for _, name := range strings.Split(dir, "/") {
		next, err := subfolder(cur, name, create)
		cur.Close()
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", filepath.Join(d.path, filepath.FromSlash(dir)), err)
		}
		cur = next
	}
	return cur, nil
}

func subfolder(parent *os.Root, name string, create bool) (*os.Root, error) {
	if create {
		if err := parent.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	fi, err := parent.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("a %s is in the way of folder %q: not followed", kind(fi), name)
	}
	sub, err := parent.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	if got, err := sub.Stat("."); err != nil || !os.SameFile(fi, got) {
		sub.Close()
		return nil, fmt.Errorf("folder %q changed while it was opened", name)
	}
	return sub, nil
}

// openExisting opens the regular file name in folder, refusing a link or
// anything else, and checking that what it opened is what it looked at.
func openExisting(folder *os.Root, name string, flag int) (*os.File, error) {
	fi, err := folder.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("a %s is in the way: not followed", kind(fi))
	}
	f, err := folder.OpenFile(name, flag, 0)
	if err != nil {
		return nil, err
	}
	if got, err := f.Stat(); err != nil || !os.SameFile(fi, got) {
		f.Close()
		return nil, fmt.Errorf("%q changed while it was opened", name)
	}
	return f, nil
}

func kind(fi fs.FileInfo) string {
	switch t := fi.Mode().Type(); {
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	case t.IsDir():
		return "folder"
	case t == 0:
		return "file"
	default:
		return "special file"
	}
}
