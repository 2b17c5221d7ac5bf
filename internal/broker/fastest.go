package broker

import (
	"slices"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
)

// fastestQueue is ARC's FastestQueue broker. It takes only queues that
// publish their waiting jobs, free slots and the CE's total slots, and
// ranks them by waiting jobs per total slot, fewest first. Where neither
// of two queues has waiting jobs ARC ranks the one with FEWER free slots
// first (FastestQueueBrokerPlugin compares FreeSlots with <=); cesub keeps
// that rule so that arcsub scripts get the CE the real arcsub would pick.
// Ties keep the order the CEs were given (ARC's follow the order the CEs'
// answers arrive in).
type fastestQueue struct{}

func (fastestQueue) accept(t *Target) string {
	var missing []string
	p := t.Queue.Published
	if !p.Has(ce.CountWaiting) {
		missing = append(missing, "waiting jobs")
	}
	if !p.Has(ce.CountTotalSlots) {
		missing = append(missing, "total slots")
	}
	if !p.Has(ce.CountFreeSlots) {
		missing = append(missing, "free slots")
	}
	if len(missing) > 0 {
		return "does not publish its " + strings.Join(missing, ", ") + " (FastestQueue needs them)"
	}
	return ""
}

func (fastestQueue) rank(ts []*Target) []*Target {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(a, b *Target) int { return compareQueues(a.Queue, b.Queue) })
	return out
}

// compareQueues orders two queues as FastestQueue ranks them (<0: a first).
func compareQueues(a, b ce.Queue) int {
	if a.WaitingJobs == 0 && b.WaitingJobs == 0 {
		return a.FreeSlots - b.FreeSlots
	}
	// a.Waiting/a.Total against b.Waiting/b.Total, without dividing
	l := int64(a.WaitingJobs) * int64(b.TotalSlots)
	r := int64(b.WaitingJobs) * int64(a.TotalSlots)
	switch {
	case l < r:
		return -1
	case l > r:
		return 1
	}
	return 0
}
