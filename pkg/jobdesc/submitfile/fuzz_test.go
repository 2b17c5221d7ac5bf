package submitfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "corpus", "submit-cases", "*"))
	for _, s := range seeds {
		if strings.HasSuffix(s, ".json") {
			continue
		}
		if b, err := os.ReadFile(s); err == nil && len(b) < 8192 {
			f.Add(b)
		}
	}
	f.Add([]byte("executable = x\narguments = \"$INT(Process,%03d) $Fnx(Item)\"\nqueue 2 Item in [::-1] (a, b)\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse("f.sub", b, ParseOptions{Options: Options{Dir: dir, Env: func(string) string { return "" },
			Now: time.Unix(0, 0), CommandTimeout: time.Second}, MaxProcs: 50, Inspect: true})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.sub") && !strings.HasPrefix(err.Error(), "--queue") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, p := range file.Procs {
			_ = ToJob(p)
			if strings.IndexByte(p.Ad.Long(), 0) >= 0 {
				t.Fatalf("a NUL byte reached the job ad: %q", b)
			}
		}
	})
}
