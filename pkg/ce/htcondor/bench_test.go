package htcondor

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
)

// bulkSubFile has the shape of the reference baseline's job1000.sub: one
// shared input, an argument per proc, a user log, requests, and
// requirements no machine meets. bench/htcondor.sh submits the same file.
const bulkSubFile = "testdata/bulk1000.sub"

// bulkJobs is what `cesub submit` reads from bulkSub: the job model the
// command checks and records (the first of the two parses on the way to the
// schedd).
func bulkJobs(tb testing.TB, dir string) []jobdesc.Job {
	tb.Helper()
	bulkSub, err := os.ReadFile(bulkSubFile)
	if err != nil {
		tb.Fatal(err)
	}
	for name, text := range map[string]string{"job.sub": string(bulkSub), "job.sh": "#!/bin/sh\necho $*\n", "shared.txt": "shared\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	name := filepath.Join(dir, "job.sub")
	jobs, err := submitfile.Jobs(name, bulkSub, submitfile.ParseOptions{Options: submitfile.Options{Dir: dir}})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range jobs {
		jobs[i].Origin = &jobdesc.Origin{Format: "submit", File: name, Dir: dir, Text: bulkSub, Index: i, Count: len(jobs)}
	}
	return jobs
}

// BenchmarkJobModel1000 is the first parse: 1,000 procs into the job model.
func BenchmarkJobModel1000(b *testing.B) {
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if jobs := bulkJobs(b, dir); len(jobs) != 1000 {
			b.Fatal(len(jobs))
		}
	}
}

// BenchmarkJobAds1000 is the second: the 1,000 job ads sent in the
// transaction, with their input files, as Submit makes them.
func BenchmarkJobAds1000(b *testing.B) {
	dir := b.TempDir()
	jobs := bulkJobs(b, dir)
	gs, _, err := groups(jobs, dir)
	if err != nil || len(gs) != 1 {
		b.Fatal(err, len(gs))
	}
	now := time.Unix(1_800_000_000, 0)
	b.ReportAllocs()
	for b.Loop() {
		c := &Client{now: time.Now}
		ads, err := c.jobAds(gs[0], 42, now, "")
		if err != nil || len(ads) != 1000 || len(ads[999].files) != 2 {
			b.Fatal(err, len(ads))
		}
	}
}
