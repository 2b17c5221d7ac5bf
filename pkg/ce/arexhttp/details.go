package arexhttp

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
)

// controlTime is how A-REX writes times in a job's control files.
const controlTime = "20060102150405Z"

// keyValues reads a control file of key=value lines; a key given more than
// once keeps every value in order.
func keyValues(text string) map[string][]string {
	m := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k == "" {
			continue
		}
		m[k] = append(m[k], strings.TrimSpace(v))
	}
	return m
}

func first(m map[string][]string, keys ...string) string {
	for _, k := range keys {
		for _, v := range m[k] {
			if v != "" {
				return v
			}
		}
	}
	return ""
}

func controlTimeOf(s string) *time.Time {
	t, err := time.Parse(controlTime, s)
	if err != nil {
		return nil
	}
	return &t
}

// seconds reads "2", "2.02s" or "2.5": whole seconds, rounded.
func seconds(s string) *int64 {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "s"), 64)
	if err != nil || f < 0 {
		return nil
	}
	n := int64(f + 0.5)
	return &n
}

// kilobytes reads "1668kB", "1668" (kB) or "2MB".
func kilobytes(s string) *int64 {
	s = strings.TrimSpace(s)
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "kB"), strings.HasSuffix(s, "KB"):
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "MB"):
		s, mult = s[:len(s)-2], 1024
	case strings.HasSuffix(s, "GB"):
		s, mult = s[:len(s)-2], 1024*1024
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return nil
	}
	n *= mult
	return &n
}

// ParseDetails makes a job's long fields from two of A-REX's control files,
// as its diagnose (REST) and *logs (EMI-ES) interfaces serve them: "local"
// (queue, batch id, owner, client, times) and "diag" (node, wall and CPU
// time, memory; written when the job ran). Either may be empty.
func ParseDetails(local, diag string) *ce.Details {
	l, d := keyValues(local), keyValues(diag)
	det := &ce.Details{
		Owner:   first(l, "subject"),
		Queue:   first(l, "queue"),
		BatchID: first(l, "localid"),
	}
	if c := first(l, "clientname"); c != "" {
		if h, _, err := net.SplitHostPort(c); err == nil {
			c = h
		}
		det.SubmittedFrom = c
	}
	det.EraseTime = controlTimeOf(first(l, "cleanuptime"))
	// without a delegated proxy A-REX writes the submission time here
	if px := first(l, "delegexpiretime"); px != "" && px != first(l, "starttime") {
		det.ProxyExpires = controlTimeOf(px)
	}
	det.ExecutionNodes = append(det.ExecutionNodes, d["nodename"]...)
	if n, err := strconv.Atoi(first(d, "Processors")); err == nil && n > 0 {
		det.RequestedSlots = n
	}
	// the batch system's own figures (lower case) before the job wrapper's
	det.WallTime = seconds(first(d, "walltime", "WallTime"))
	if c := seconds(first(d, "cputime")); c != nil {
		det.CPUTime = c
	} else if u, k := seconds(first(d, "UserTime")), seconds(first(d, "KernelTime")); u != nil || k != nil {
		var n int64
		for _, p := range []*int64{u, k} {
			if p != nil {
				n += *p
			}
		}
		det.CPUTime = &n
	}
	det.MemoryKB = kilobytes(first(d, "MaxResidentMemory"))
	det.Started = controlTimeOf(first(d, "LRMSStartTime"))
	det.Ended = controlTimeOf(first(d, "LRMSEndTime"))
	return det
}

// FetchDetails adds the long fields to the jobs of results, reading each
// job's "local" and "diag" with read (at most 8 jobs at a time). A file the
// CE does not have yet (a queued job has no diag) leaves its fields empty.
func FetchDetails(ctx context.Context, results []ce.Result, read func(ctx context.Context, localID, name string) (string, error)) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range results {
		j := results[i].Job
		if j == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			local, _ := read(ctx, j.LocalID, "local")
			diag, _ := read(ctx, j.LocalID, "diag")
			j.Details = ParseDetails(local, diag)
		}()
	}
	wg.Wait()
}
