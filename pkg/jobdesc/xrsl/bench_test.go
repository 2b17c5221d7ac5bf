package xrsl

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/jobgen"
)

// bigMulti builds a multi-request xRSL of n pilot-like jobs (each ~600 bytes).
func bigMulti(n int) []byte {
	var b strings.Builder
	b.WriteString("+")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `(&(executable="runpilot.sh")(arguments="-q" "queue_%d" "--job-id" "%d")(jobname="pilot-%d")
 (stdout="pilot.out")(stderr="pilot.err")(gmlog="gmlog")(walltime="2h 30m")(cputime=600)(memory=2000)(count=8)
 (inputfiles=("runpilot.sh" "")("pilot.tar.gz" "https://pilot.example.org/pilot.tar.gz" "cache=yes"))
 (outputfiles=("result.tar" "srm://se.example.org/atlas/%d/result.tar" "overwrite=yes"))
 (environment=("PANDA_QUEUE" "queue_%d")("X509_USER_PROXY" "$HOME/proxy"))(runtimeenvironment="APPS/HEP/ATLAS-SITE")
 (* pilot %d *))
`, i, i, i, i, i, i)
	}
	return []byte(b.String())
}

func BenchmarkParseMultiJob(b *testing.B) {
	src := bigMulti(1000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		jobs, err := Parse("big.xrsl", src)
		if err != nil || len(jobs) != 1000 {
			b.Fatalf("%v %d", err, len(jobs))
		}
	}
}

// BenchmarkParseRealShaped parses a multi-request file of 10,000 jobs of the
// shapes of published descriptions (internal/jobgen; about 3 MB).
func BenchmarkParseRealShaped(b *testing.B) {
	src := jobgen.XRSL(10000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	cpu := jobgen.CPU()
	for i := 0; i < b.N; i++ {
		jobs, err := Parse("big.xrsl", src)
		if err != nil || len(jobs) != 10000 {
			b.Fatalf("%v %d", err, len(jobs))
		}
	}
	b.ReportMetric(jobgen.PerCPUSecond(int64(len(src)), b.N, jobgen.CPU()-cpu), "MB/cpu-s")
}

func BenchmarkPrintTree(b *testing.B) {
	tree, err := ParseTree("big.xrsl", bigMulti(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = Print(tree)
	}
}
