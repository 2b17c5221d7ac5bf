package broker

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

const all = ce.CountRunning | ce.CountWaiting | ce.CountTotalSlots | ce.CountFreeSlots

// arcCE is a GLUE2 CE with one queue.
func arcCE(label string, q ce.Queue, rtes ...string) CE {
	if q.Name == "" {
		q.Name = "fork"
	}
	return CE{Label: label, Info: &ce.Info{Endpoint: label, GLUE2: true, HealthState: "ok", Queues: []ce.Queue{q}, RuntimeEnvironments: rtes}}
}

// queue has waiting jobs w, total slots t and free slots f, all published.
func queue(w, t, f int) ce.Queue {
	return ce.Queue{WaitingJobs: w, TotalSlots: t, FreeSlots: f, Published: all}
}

func labels(ts []*Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Label)
	}
	return out
}

func TestFastestQueueOrder(t *testing.T) {
	fq, _ := New("fastestqueue", nil)
	for _, tc := range []struct {
		name string
		ces  []CE
		want []string
	}{
		{"fewest waiting per slot first", []CE{arcCE("a", queue(10, 10, 0)), arcCE("b", queue(2, 10, 0)), arcCE("c", queue(5, 100, 0))},
			[]string{"c", "b", "a"}},
		{"a queue without waiting jobs before any with", []CE{arcCE("a", queue(1, 1000, 5)), arcCE("b", queue(0, 2, 0))}, []string{"b", "a"}},
		// ARC's FastestQueueBrokerPlugin: with no waiting jobs anywhere, FreeSlots compared with <=
		{"no waiting jobs: fewer free slots first (ARC's rule)", []CE{arcCE("a", queue(0, 10, 9)), arcCE("b", queue(0, 10, 1))}, []string{"b", "a"}},
		{"ties keep the order given", []CE{arcCE("a", queue(3, 10, 0)), arcCE("b", queue(6, 20, 0)), arcCE("c", queue(3, 10, 0))},
			[]string{"a", "b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order, dropped := fq.NewSession(tc.ces).Choose(jobdesc.Job{}, nil)
			if got := labels(order); !slices.Equal(got, tc.want) || len(dropped) != 0 {
				t.Errorf("order %v dropped %v, want %v", got, dropped, tc.want)
			}
		})
	}
}

func TestFastestQueueNeedsCounts(t *testing.T) {
	fq, _ := New(FastestQueue, nil)
	noFree := queue(1, 10, 0)
	noFree.Published &^= ce.CountFreeSlots
	condor := CE{Label: "condor", Info: &ce.Info{Queues: []ce.Queue{{Name: "schedd", WaitingJobs: 3, Published: ce.CountRunning | ce.CountWaiting}}}}
	order, dropped := fq.NewSession([]CE{arcCE("a", noFree), condor, arcCE("b", queue(4, 4, 0))}).Choose(jobdesc.Job{}, nil)
	if got := labels(order); !slices.Equal(got, []string{"b"}) || len(dropped) != 2 {
		t.Fatalf("order %v dropped %+v", got, dropped)
	}
	if !strings.Contains(dropped[0].Reason, "free slots") || !strings.Contains(dropped[1].Reason, "total slots, free slots") {
		t.Errorf("reasons: %+v", dropped)
	}
	// Random takes what FastestQueue cannot rank
	rb, _ := New(Random, rand.New(rand.NewPCG(1, 2)))
	if order, _ := rb.NewSession([]CE{arcCE("a", noFree), condor}).Choose(jobdesc.Job{}, nil); len(order) != 2 {
		t.Errorf("Random: %v", labels(order))
	}
}

// TestRegisterSpreadsJobs: each job sent takes a free slot, then waits in
// the queue, so FastestQueue moves on once one queue's share is longer.
func TestRegisterSpreadsJobs(t *testing.T) {
	fq, _ := New(FastestQueue, nil)
	s := fq.NewSession([]CE{arcCE("a", queue(1, 10, 1)), arcCE("b", queue(3, 10, 0))})
	var got []string
	for range 5 {
		order, _ := s.Choose(jobdesc.Job{}, nil)
		got = append(got, order[0].Label)
		s.Register(order[0], jobdesc.Job{})
	}
	// a takes its free slot (waiting stays 1), then waits: 2, 3 (a tie with b: a was given
	// first), 4: now b's 3 waiting are fewer
	if want := []string{"a", "a", "a", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("jobs went to %v, want %v", got, want)
	}
}

func TestRandomIsSeededAndUniformish(t *testing.T) {
	ces := []CE{arcCE("a", ce.Queue{}), arcCE("b", ce.Queue{}), arcCE("c", ce.Queue{})}
	first := func(seed uint64, jobs int) []string {
		b, err := New("random", rand.New(rand.NewPCG(seed, 7)))
		if err != nil {
			t.Fatal(err)
		}
		s := b.NewSession(ces)
		var out []string
		for range jobs {
			order, _ := s.Choose(jobdesc.Job{}, nil)
			if len(order) != 3 {
				t.Fatalf("order %v", labels(order))
			}
			out = append(out, order[0].Label)
		}
		return out
	}
	if a, b := first(42, 20), first(42, 20); !slices.Equal(a, b) {
		t.Errorf("same seed, different choices: %v %v", a, b)
	}
	counts := map[string]int{}
	for _, l := range first(3, 3000) {
		counts[l]++
	}
	for _, l := range []string{"a", "b", "c"} {
		if counts[l] < 800 || counts[l] > 1200 {
			t.Errorf("Random chose %s first %d times in 3000 (counts %v)", l, counts[l], counts)
		}
	}
}

func TestUnknownBroker(t *testing.T) {
	if _, err := New("Benchmark", nil); err == nil || !strings.Contains(err.Error(), "Random and FastestQueue") {
		t.Errorf("err %v", err)
	}
}

func TestMatch(t *testing.T) {
	lim := ce.Queue{Name: "long", MaxWallTime: 3600, MaxCPUTime: 7200, MaxMemoryMB: 2000, MaxVirtualMemoryMB: 4000, TotalSlots: 8, Published: all}
	arc := func(mut func(*ce.Info)) *Target {
		in := &ce.Info{GLUE2: true, HealthState: "ok", Queues: []ce.Queue{lim}, RuntimeEnvironments: []string{"APPS/HEP/ATLAS-20.1.2", "ENV/PROXY"}}
		if mut != nil {
			mut(in)
		}
		return &Target{Label: "arc", Info: in, Queue: in.Queues[0]}
	}
	condor := &Target{Label: "condor", Info: &ce.Info{Queues: []ce.Queue{{Name: "schedd"}}}, Queue: ce.Queue{Name: "schedd"}}
	res := func(f func(*jobdesc.Resources)) jobdesc.Job {
		var j jobdesc.Job
		f(&j.Resources)
		return j
	}
	rte := func(rel, name string) jobdesc.Job {
		return res(func(r *jobdesc.Resources) { r.RuntimeEnvironments = []jobdesc.Software{{Name: name, Relation: rel}} })
	}
	for _, tc := range []struct {
		name string
		job  jobdesc.Job
		t    *Target
		want string // a part of the reason; "" fits
	}{
		{"no requirements", jobdesc.Job{}, arc(nil), ""},
		{"wall time within", res(func(r *jobdesc.Resources) { r.WallTime = time.Hour }), arc(nil), ""},
		{"wall time too long", res(func(r *jobdesc.Resources) { r.WallTime = time.Hour + time.Second }), arc(nil), "wall time (3601 s)"},
		{"no wall time limit published", res(func(r *jobdesc.Resources) { r.WallTime = 100 * time.Hour }),
			arc(func(in *ce.Info) { in.Queues[0].MaxWallTime = 0 }), ""},
		{"total CPU time per slot", res(func(r *jobdesc.Resources) { r.CPUTime = 4 * time.Hour; r.Slots = 2 }), arc(nil), ""},
		{"total CPU time too long", res(func(r *jobdesc.Resources) { r.CPUTime = 4 * time.Hour }), arc(nil), "CPU time per slot (14400 s)"},
		{"individual CPU time too long", res(func(r *jobdesc.Resources) { r.IndividualCPUTime = 3 * time.Hour }), arc(nil), "CPU time per slot (10800 s)"},
		{"benchmark-scaled times not checked", res(func(r *jobdesc.Resources) {
			r.WallTime = 100 * time.Hour
			r.Benchmark = &jobdesc.Benchmark{Name: "clock rate", Value: 2800}
		}), arc(nil), ""},
		{"memory within the queue's limit", res(func(r *jobdesc.Resources) { r.MemoryMB = 2000 }), arc(nil), ""},
		{"memory over the queue's limit", res(func(r *jobdesc.Resources) { r.MemoryMB = 2001 }), arc(nil), "more than the queue's memory limit (2000 MB)"},
		{"a node's memory wins over the queue's", res(func(r *jobdesc.Resources) { r.MemoryMB = 3000 }), arc(func(in *ce.Info) { in.MainMemoryMB = 4000 }), ""},
		{"memory unpublished on ARC", res(func(r *jobdesc.Resources) { r.MemoryMB = 1 }), arc(func(in *ce.Info) { in.Queues[0].MaxMemoryMB = 0 }), "publishes no memory"},
		{"memory unpublished on HTCondor-CE", res(func(r *jobdesc.Resources) { r.MemoryMB = 1 }), condor, ""},
		{"virtual memory over", res(func(r *jobdesc.Resources) { r.VirtualMemoryMB = 5000 }), arc(nil), "virtual memory"},
		{"slots", res(func(r *jobdesc.Resources) { r.Slots = 9 }), arc(nil), "asks for 9 slots and the CE has 8"},
		{"slots unpublished on ARC", res(func(r *jobdesc.Resources) { r.Slots = 1 }), arc(func(in *ce.Info) { in.Queues[0].Published = 0 }), "does not publish"},
		{"queue named", res(func(r *jobdesc.Resources) { r.Queue = "short" }), arc(nil), "asks for queue short"},
		{"queue named matches", res(func(r *jobdesc.Resources) { r.Queue = "long" }), arc(nil), ""},
		{"queue rejected", res(func(r *jobdesc.Resources) { r.RejectQueues = []string{"long"} }), arc(nil), "rejected by the job"},
		{"health critical", jobdesc.Job{}, arc(func(in *ce.Info) { in.HealthState = "critical" }), "health state is critical"},
		{"health warning kept", jobdesc.Job{}, arc(func(in *ce.Info) { in.HealthState = "warning" }), ""},
		{"health unpublished", jobdesc.Job{}, arc(func(in *ce.Info) { in.HealthState = "" }), "does not publish its health"},
		{"queue draining", jobdesc.Job{}, arc(func(in *ce.Info) { in.Queues[0].ServingState = "draining" }), "queue is draining"},
		{"rte present", rte("", "ENV/PROXY"), arc(nil), ""},
		{"rte exact version", rte("", "APPS/HEP/ATLAS-20.1.2"), arc(nil), ""},
		{"rte without version is not a versioned one", rte("", "APPS/HEP/ATLAS"), arc(nil), "lacks runtime environment APPS/HEP/ATLAS"},
		{"rte >= lower version", rte(">=", "APPS/HEP/ATLAS-20.1"), arc(nil), ""},
		{"rte >= higher version", rte(">=", "APPS/HEP/ATLAS-20.2"), arc(nil), "lacks runtime environment >= APPS/HEP/ATLAS-20.2"},
		{"rte > unversioned", rte(">", "APPS/HEP/ATLAS"), arc(nil), ""},
		{"rte < higher", rte("<", "APPS/HEP/ATLAS-21"), arc(nil), ""},
		{"rte != present", rte("!=", "ENV/PROXY"), arc(nil), "lacks runtime environment != ENV/PROXY"},
		{"rte case matters", rte("", "env/proxy"), arc(nil), "lacks"},
		{"rte on a CE with none", rte("", "ENV/PROXY"), condor, "publishes none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Match(tc.job, tc.t)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("Match = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSessionDropsAndSkips(t *testing.T) {
	b, _ := New(Random, rand.New(rand.NewPCG(9, 9)))
	s := b.NewSession([]CE{{Label: "down", Err: errors.New("connection refused")}, arcCE("a", ce.Queue{}, "ENV/PROXY"), arcCE("b", ce.Queue{})})
	job := jobdesc.Job{Resources: jobdesc.Resources{RuntimeEnvironments: []jobdesc.Software{{Name: "ENV/PROXY"}}}}
	order, dropped := s.Choose(job, nil)
	if got := labels(order); !slices.Equal(got, []string{"a"}) || len(dropped) != 2 || dropped[0].CE != "down" ||
		!strings.Contains(dropped[0].Reason, "connection refused") || dropped[1].CE != "b" {
		t.Fatalf("order %v dropped %+v", got, dropped)
	}
	order, _ = s.Choose(job, func(t *Target) bool { return t.Label == "a" })
	if len(order) != 0 {
		t.Errorf("a tried already: %v", labels(order))
	}
}

func TestPrepareSetsQueueOnlyWhereThereIsAChoice(t *testing.T) {
	two := &ce.Info{GLUE2: true, Queues: []ce.Queue{{Name: "short"}, {Name: "long"}}}
	one := &ce.Info{GLUE2: true, Queues: []ce.Queue{{Name: "fork"}}}
	if j := Prepare(jobdesc.Job{}, &Target{Info: two, Queue: two.Queues[1]}); j.Resources.Queue != "long" {
		t.Errorf("two queues: %q", j.Resources.Queue)
	}
	if j := Prepare(jobdesc.Job{}, &Target{Info: one, Queue: one.Queues[0]}); j.Resources.Queue != "" {
		t.Errorf("one queue: %q", j.Resources.Queue)
	}
}
