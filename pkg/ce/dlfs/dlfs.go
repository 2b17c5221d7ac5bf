// Package dlfs writes the files of a job's download (`cesub get`) so that
// a CE, which chooses the job id and the file names, sizes and modes,
// cannot make cesub write anywhere but a folder cesub made for that job:
//
//   - the job's folder is one Open creates, or one holding the marker
//     (MarkerName) that an interrupted download of the same job left;
//     anything else there is refused before a byte is written;
//   - files and subfolders are reached one name at a time beneath it, and
//     a symbolic link at any depth is refused, never followed;
//   - a file is written as NAME.cesub-part, created new or resumed only
//     when it is cesub's own, never past the size the CE announced, and
//     renamed into place only when complete;
//   - a mode is set on the open file, at most 0755.
//
// Both A-REX backends (through arexhttp) and the HTCondor backend use it.
package dlfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	// MarkerName is the file that marks a job's folder as cesub's own
	// download in progress; it names the job and is removed on completion.
	MarkerName = ".cesub-get"
	// PartSuffix ends the name of a file still being downloaded.
	PartSuffix = ".cesub-part"
	// MaxMode is the most a CE-chosen mode may grant: never setuid, setgid,
	// sticky, or group or world write.
	MaxMode fs.FileMode = 0o755
)

// Dir is a job's download folder, open for writing beneath it only.
type Dir struct {
	root *os.Root
	path string
}

// Open makes the download folder of job at path (its parent is created as
// the user's choice), or reopens one that an interrupted download of the
// same job left; any other existing path is refused.
func Open(path, job string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	made := true
	if err := os.Mkdir(path, 0o755); errors.Is(err, fs.ErrExist) {
		made = false
	} else if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	root, err := openRootDir(path)
	if err != nil {
		return nil, err
	}
	d := &Dir{root: root, path: path}
	if made {
		err = d.writeMarker(job)
	} else {
		err = d.checkMarker(job)
	}
	if err != nil {
		root.Close()
		return nil, err
	}
	return d, nil
}

// openRootDir opens path as a Root only when path itself is a folder, not
// a link to one.
func openRootDir(path string) (*os.Root, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if !fi.IsDir() {
		return nil, refused(path, "is not a folder")
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if got, err := root.Stat("."); err != nil || !os.SameFile(fi, got) {
		root.Close()
		return nil, refused(path, "changed while it was opened")
	}
	return root, nil
}

func refused(path, why string) error {
	return fmt.Errorf("get: %s %s: nothing written there (cesub downloads into a folder it creates; move it away or choose another -D)", path, why)
}

func markerText(job string) string { return "cesub get " + job + "\n" }

func (d *Dir) writeMarker(job string) error {
	f, err := d.root.OpenFile(MarkerName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("get: marking %s: %w", d.path, err)
	}
	_, err = f.WriteString(markerText(job))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("get: marking %s: %w", d.path, err)
	}
	return nil
}

// checkMarker accepts an existing folder only when it holds the marker of
// an interrupted download of job.
func (d *Dir) checkMarker(job string) error {
	want := markerText(job)
	f, err := openExisting(d.root, MarkerName, os.O_RDONLY)
	if err != nil {
		return refused(d.path, "already exists")
	}
	defer f.Close()
	buf := make([]byte, len(want)+1)
	n, _ := f.Read(buf)
	if string(buf[:n]) != want {
		return refused(d.path, "is a download of another job")
	}
	return nil
}

// Path is the folder's path.
func (d *Dir) Path() string { return d.path }

// Close closes the folder, leaving the marker: a later get resumes.
func (d *Dir) Close() error { return d.root.Close() }

// Done removes the marker of a completed download and closes the folder.
func (d *Dir) Done() error {
	err := d.root.Remove(MarkerName)
	if cerr := d.root.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("get: %s: %w", d.path, err)
	}
	return nil
}
