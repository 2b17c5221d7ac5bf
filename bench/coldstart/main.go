// Command coldstart measures how long commands take from exec to exit:
// the median of N runs of each, timed in-process (a shell's `date` calls
// cost more than what is measured). Usage: coldstart N -- CMD ARGS… [-- CMD ARGS…]
package main

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 4 || os.Args[2] != "--" {
		fmt.Fprintln(os.Stderr, "usage: coldstart N -- CMD ARGS… [-- CMD ARGS…]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "coldstart: N must be a positive number")
		os.Exit(2)
	}
	var cmds [][]string
	for _, a := range os.Args[3:] {
		if a == "--" {
			cmds = append(cmds, nil)
			continue
		}
		if len(cmds) == 0 {
			cmds = append(cmds, nil)
		}
		cmds[len(cmds)-1] = append(cmds[len(cmds)-1], a)
	}
	for _, c := range cmds {
		ts := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			cmd := exec.Command(c[0], c[1:]...)
			start := time.Now()
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "coldstart: %v: %v\n", c, err)
				os.Exit(1)
			}
			ts = append(ts, time.Since(start))
		}
		sort.Slice(ts, func(a, b int) bool { return ts[a] < ts[b] })
		fmt.Printf("%.1f\n", float64(ts[n/2].Microseconds())/1000)
	}
}
