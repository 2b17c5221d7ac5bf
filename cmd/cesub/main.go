// Command cesub submits and manages grid jobs on ARC CEs and HTCondor-CEs.
package main

import (
	"os"

	"github.com/cesub/cesub/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(cli.Main(version)) }
