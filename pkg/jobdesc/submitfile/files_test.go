package submitfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCorpusFiles: every real submit file in the corpus is read. Files that
// depend on something absent here (a command's output, environment values)
// must fail with a positioned, explained error rather than silently.
func TestCorpusFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "submit", "*"))
	if len(files) < 50 {
		t.Fatalf("%d files", len(files))
	}
	ok, procs, refused := 0, 0, 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		work := t.TempDir()
		name := filepath.Base(f)
		_ = os.WriteFile(filepath.Join(work, name), src, 0o644)
		file, err := Parse(name, src, ParseOptions{Options: Options{Dir: work, Env: func(k string) string {
			return map[string]string{"GLIDEIN_COUNT": "2", "HOME": "/home/u", "USER": "u"}[k]
		}, Now: time.Unix(1700000000, 0)}})
		if err != nil {
			if !strings.HasPrefix(err.Error(), name+":") {
				t.Errorf("%s: error without position: %v", name, err)
			} else {
				t.Logf("%s: %v", name, err)
			}
			// what condor_submit 23 refuses too (checked in its chroot):
			// the standard universe, grid types it dropped (cream, nordugrid)
			if strings.Contains(err.Error(), "standard universe is not supported") || strings.Contains(err.Error(), "grid_resource type") {
				refused++
			}
			continue
		}
		ok++
		procs += len(file.Procs)
	}
	t.Logf("%d of %d real submit files read, %d procs; %d refused as condor_submit refuses them", ok, len(files), procs, refused)
	if ok < (len(files)-refused)*9/10 {
		t.Errorf("only %d of %d files read (%d refused as condor_submit does)", ok, len(files)-refused, refused)
	}
}
