// Command cesub submits and manages grid jobs on ARC CEs and HTCondor-CEs.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/cesub/cesub/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
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
	os.Exit(cli.Main(version))
}
