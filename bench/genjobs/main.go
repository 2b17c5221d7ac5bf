// Command genjobs writes the large job descriptions bench/parse.sh reads:
//
//	genjobs xrsl N FILE     a +(…)(…) xRSL of N real-shaped jobs
//	genjobs submit N FILE   an HTCondor submit file of about N procs
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/cesub/cesub/internal/jobgen"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: genjobs xrsl|submit N FILE")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "genjobs: N %q: want a positive number\n", os.Args[2])
		os.Exit(2)
	}
	var src []byte
	switch os.Args[1] {
	case "xrsl":
		src = jobgen.XRSL(n)
	case "submit":
		src = jobgen.Submit(n)
	default:
		fmt.Fprintf(os.Stderr, "genjobs: %q: want xrsl or submit\n", os.Args[1])
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[3], src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genjobs:", err)
		os.Exit(1)
	}
}
