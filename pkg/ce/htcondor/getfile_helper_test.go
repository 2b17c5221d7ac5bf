package htcondor

import (
	"testing"

	"github.com/cesub/cesub/pkg/ce/dlfs"
)

// receiveSandbox opens dir as Get does and receives files from a
// fakeSchedd into it.
func receiveSandbox(t *testing.T, dir string, files []fakeFile) error {
	t.Helper()
	d, err := dlfs.Open(dir, "test 1.0")
	if err != nil {
		return err
	}
	if err := download(fakeSchedd(t, files), d, func(string, int64) {}); err != nil {
		d.Close()
		return err
	}
	return d.Done()
}
