package submitfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobgen"
)

// BenchmarkQueueFrom10000 reads a pilot submit file whose `queue … from`
// file has 10,000 items, producing 10,000 procs with their ClassAds.
func BenchmarkQueueFrom10000(b *testing.B) {
	dir := b.TempDir()
	var items strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&items, "run_%05d, /data/input_%05d.root, %d\n", i, i, 1000+i)
	}
	if err := os.WriteFile(filepath.Join(dir, "items.txt"), []byte(items.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	src := []byte(`universe = vanilla
executable = run.sh
arguments = "$(name) $(input) --events $(events)"
output = out/$(name).out
error = out/$(name).err
log = pilots.log
transfer_input_files = $(input), config.json
should_transfer_files = YES
request_cpus = 8
request_memory = 2GB
request_disk = 10GB
+maxWallTime = 1440
+ProjectName = "atlas"
queue name, input, events from items.txt
`)
	b.SetBytes(int64(len(src) + items.Len()))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := Parse("pilot.sub", src, ParseOptions{Options: Options{Dir: dir, Env: func(string) string { return "" }, Now: time.Unix(0, 0)}})
		if err != nil || len(f.Procs) != 10000 {
			b.Fatalf("%v", err)
		}
	}
}

// BenchmarkParseRealShaped reads a pilot factory's submit file of 20,000
// procs (internal/jobgen: 5,000 `queue 1` blocks with their own arguments
// and output, then a `queue … from (…)` of 15,000 items; about 1.8 MB).
func BenchmarkParseRealShaped(b *testing.B) {
	src := jobgen.Submit(20000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	cpu := jobgen.CPU()
	for i := 0; i < b.N; i++ {
		f, err := Parse("pilot.sub", src, ParseOptions{Options: Options{Dir: "/tmp", Env: func(string) string { return "" }, Now: time.Unix(0, 0)}})
		if err != nil || len(f.Procs) != 20000 {
			b.Fatalf("%v", err)
		}
	}
	b.ReportMetric(jobgen.PerCPUSecond(int64(len(src)), b.N, jobgen.CPU()-cpu), "MB/cpu-s")
}
