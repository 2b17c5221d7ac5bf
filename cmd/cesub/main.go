// Command cesub submits and manages grid jobs on ARC CEs and HTCondor-CEs.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/cesub/cesub/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// A command's heap is mostly what it holds on to (the job list, a CE's
	// answer), so collecting at +50% instead of Go's +100% keeps a status of
	// 10,000 jobs under 50 MB resident for little CPU. GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	// CESUB_CPUPROFILE=file writes a CPU profile of this run (for bench/ work).
	if p := os.Getenv("CESUB_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			code := cli.Main(version)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
		fmt.Fprintln(os.Stderr, "cesub: CESUB_CPUPROFILE:", err)
	}
	// CESUB_MEMPROFILE=file writes the allocations of this run (go tool pprof -sample_index=alloc_space).
	if p := os.Getenv("CESUB_MEMPROFILE"); p != "" {
		code := cli.Main(version)
		if f, err := os.Create(p); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		os.Exit(code)
	}
	os.Exit(cli.Main(version))
}
