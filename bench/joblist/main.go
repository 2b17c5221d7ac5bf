// Command joblist times cesub's job list on one engine for bench/joblist.sh
// (LIST is an SQLite file or a PostgreSQL URL):
//
//	joblist LIST record N      N jobs recorded one Add (one transaction) each, as N submits do
//	joblist LIST fill N        N jobs in batches of 10,000, states spread (100 of them HELD)
//	joblist LIST select STATE  List of the jobs in STATE (the selection status --state makes)
//	joblist LIST explain STATE the engine's plan for that selection
//	joblist LIST status        the job-list part of status -a: List of every job, then
//	                           UpdateStates of every one (the states the CEs answered:
//	                           one job in ten moved on to its next state)
//
// It prints the seconds the operation took (explain: the plan).
package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: joblist LIST record|fill N | select|explain STATE | status")
		os.Exit(2)
	}
	ctx := context.Background()
	s, err := jobstore.Open(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	arg := ""
	if len(os.Args) > 3 {
		arg = os.Args[3]
	}
	t0 := time.Now()
	out, err := run(ctx, s, os.Args[2], arg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if out == "" {
		out = fmt.Sprintf("%.4f", time.Since(t0).Seconds())
	}
	fmt.Println(out)
}

func run(ctx context.Context, s *jobstore.Store, op, arg string) (string, error) {
	n, _ := strconv.Atoi(arg)
	switch op {
	case "record":
		for i := 0; i < n; i++ {
			if _, err := s.Add(ctx, job("rec", i)); err != nil {
				return "", err
			}
		}
	case "fill":
		return "", fill(ctx, s, n)
	case "select":
		jobs, err := s.List(ctx, jobstore.Filter{States: []string{arg}})
		if err == nil && len(jobs) == 0 {
			err = fmt.Errorf("no %s jobs", arg)
		}
		return "", err
	case "explain":
		return s.Explain(ctx, jobstore.Filter{States: []string{arg}})
	case "status":
		return "", status(ctx, s)
	default:
		return "", fmt.Errorf("unknown operation %q", op)
	}
	return "", nil
}

var states = []string{"QUEUING", "RUNNING", "FINISHED", "FAILED", "KILLED"}

func job(prefix string, i int) jobstore.Job {
	id := fmt.Sprintf("%s%07d", prefix, i)
	st := states[i%len(states)]
	if i%10000 == 0 {
		st = "HELD" // 100 in 1,000,000: a selection of a few
	}
	return jobstore.Job{ID: "https://ce.example:443/arex/rest/1.0/jobs/" + id, LocalID: id, CE: "https://ce.example:443/arex",
		Flavour: "arc", Name: "bench", Submitted: time.Unix(1700000000+int64(i), 0), State: st}
}

func fill(ctx context.Context, s *jobstore.Store, n int) error {
	batch := make([]jobstore.Job, 0, 10000)
	for i := 0; i < n; i++ {
		batch = append(batch, job("fill", i))
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.Add(ctx, batch...); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

func status(ctx context.Context, s *jobstore.Store) error {
	jobs, err := s.List(ctx, jobstore.Filter{})
	if err != nil {
		return err
	}
	// as status -a: the CEs' answers, each with the job as read (Was); one
	// job in ten has moved on (to the next state of the cycle), so every
	// run writes 1,000 of 10,000 rows
	ups := make([]jobstore.StateUpdate, len(jobs))
	for i, j := range jobs {
		st := j.State
		if tenth(j.ID) {
			st = states[(slices.Index(states, j.State)+1)%len(states)]
		}
		ups[i] = jobstore.StateUpdate{ID: j.ID, State: st, Was: &jobs[i]}
	}
	return s.UpdateStates(ctx, ups)
}

// tenth picks one job id in ten, the same ones every run.
func tenth(id string) bool {
	h := fnv.New32a()
	h.Write([]byte(id)) //nolint:errcheck // a hash.Hash never fails
	return h.Sum32()%10 == 0
}
