package broker

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// Match is the requirements filter every broker applies first, ARC's
// matchmaking (Broker::genericMatch) on what cesub reads of a CE: the
// reason the job cannot go to the target, or "" when it may. A GLUE2 CE
// (ARC) that leaves out what the job asks for (a memory limit, its
// slots, its health) is dropped, as ARC's client drops it; a CE of
// another flavour is kept when it does not publish a limit, except for
// runtime environments, which only ARC CEs have.
func Match(j jobdesc.Job, t *Target) string {
	for _, check := range []func(jobdesc.Job, *Target) string{matchQueue, matchState, matchTimes, matchMemory, matchRTEs, matchSlots} {
		if why := check(j, t); why != "" {
			return why
		}
	}
	return ""
}

// matchQueue: the queue the job names, and those it rejects (queue!=).
func matchQueue(j jobdesc.Job, t *Target) string {
	r := j.Resources
	if slices.Contains(r.RejectQueues, t.Queue.Name) {
		return fmt.Sprintf("queue %s is rejected by the job (queue!=%s)", t.Queue.Name, t.Queue.Name)
	}
	if r.Queue != "" && t.Info.GLUE2 && r.Queue != t.Queue.Name {
		return fmt.Sprintf("the job asks for queue %s", r.Queue)
	}
	return ""
}

// matchState: the submission endpoint's health (ARC keeps ok and
// warning, and drops a CE that does not say) and the queue's serving
// state (closed and draining queues take no new jobs; ARC's client does
// not look, and would try and fail).
func matchState(_ jobdesc.Job, t *Target) string {
	if t.Info.GLUE2 {
		switch h := strings.ToLower(t.Info.HealthState); h {
		case "ok", "warning":
		case "":
			return "the CE does not publish its health state"
		default:
			return "the CE's health state is " + h
		}
	}
	switch s := strings.ToLower(t.Queue.ServingState); s {
	case "closed", "draining":
		return "the queue is " + s
	}
	return ""
}

// matchTimes: the job's wall time and CPU time against the queue's
// maxima. Times scaled by a benchmark (xRSL gridtime) are not checked.
func matchTimes(j jobdesc.Job, t *Target) string {
	r, q := j.Resources, t.Queue
	if r.Benchmark != nil {
		return ""
	}
	secs := func(d time.Duration) int64 { return int64(d / time.Second) }
	if q.MaxWallTime > 0 && secs(r.WallTime) > q.MaxWallTime {
		return fmt.Sprintf("the job's wall time (%d s) is longer than the queue's maximum (%d s)", secs(r.WallTime), q.MaxWallTime)
	}
	if q.MaxCPUTime > 0 && secs(r.IndividualCPUTime) > q.MaxCPUTime {
		return fmt.Sprintf("the job's CPU time per slot (%d s) is longer than the queue's maximum (%d s)", secs(r.IndividualCPUTime), q.MaxCPUTime)
	}
	if perSlot := secs(r.CPUTime) / int64(max(1, r.Slots)); q.MaxCPUTime > 0 && perSlot > q.MaxCPUTime {
		return fmt.Sprintf("the job's CPU time per slot (%d s) is longer than the queue's maximum (%d s)", perSlot, q.MaxCPUTime)
	}
	return ""
}

// matchMemory: memory per slot against a node's memory (or else the
// queue's limit); virtual memory against the queue's limit.
func matchMemory(j jobdesc.Job, t *Target) string {
	r := j.Resources
	if mem := r.MemoryMB; mem > 0 {
		limit, what := t.Info.MainMemoryMB, "a node's memory"
		if limit <= 0 {
			limit, what = t.Queue.MaxMemoryMB, "the queue's memory limit"
		}
		switch {
		case limit > 0 && limit < mem:
			return fmt.Sprintf("the job asks for %d MB of memory, more than %s (%d MB)", mem, what, limit)
		case limit <= 0 && t.Info.GLUE2:
			return fmt.Sprintf("the job asks for %d MB of memory and the CE publishes no memory size or limit", mem)
		}
	}
	if mem, limit := r.VirtualMemoryMB, t.Queue.MaxVirtualMemoryMB; mem > 0 {
		switch {
		case limit > 0 && limit < mem:
			return fmt.Sprintf("the job asks for %d MB of virtual memory, more than the queue's limit (%d MB)", mem, limit)
		case limit <= 0 && t.Info.GLUE2:
			return fmt.Sprintf("the job asks for %d MB of virtual memory and the CE publishes no virtual memory limit", mem)
		}
	}
	return ""
}

// matchRTEs: every runtime environment the job requires must be among
// the CE's (ARC compares names and versions exactly, case and all).
func matchRTEs(j jobdesc.Job, t *Target) string {
	req := j.Resources.RuntimeEnvironments
	if len(req) == 0 {
		return ""
	}
	if len(t.Info.RuntimeEnvironments) == 0 {
		return "the job requires runtime environment " + describe(req[0]) + " and the CE publishes none"
	}
	have := make([]software, len(t.Info.RuntimeEnvironments))
	for i, s := range t.Info.RuntimeEnvironments {
		have[i] = parseSoftware(s)
	}
	for _, sw := range req {
		if !satisfied(sw, have) {
			return "the CE lacks runtime environment " + describe(sw)
		}
	}
	return ""
}

// matchSlots: the slots the job asks for (xRSL count) against the CE's.
func matchSlots(j jobdesc.Job, t *Target) string {
	n := j.Resources.Slots
	if n <= 0 {
		return ""
	}
	if t.Queue.Published.Has(ce.CountTotalSlots) {
		if t.Queue.TotalSlots < n {
			return fmt.Sprintf("the job asks for %d slots and the CE has %d", n, t.Queue.TotalSlots)
		}
		return ""
	}
	if t.Info.GLUE2 {
		return fmt.Sprintf("the job asks for %d slots and the CE does not publish how many it has", n)
	}
	return ""
}

// describe is a requirement as xRSL writes it.
func describe(sw jobdesc.Software) string {
	if sw.Relation == "" || sw.Relation == "=" {
		return sw.Name
	}
	return sw.Relation + " " + sw.Name
}
