package jobs

// TEST-ONLY fault hooks. Nothing in this file is for users: it exists so
// that integration tests and bench/bulk.sh can put a submission into the
// states a real crash leaves, and it is read from the environment only
// here.
//
//	CESUB_TEST_FAULT=die-after-request:N
//	    SIGKILL this process right after the Nth submission request (to
//	    one CE, counted from 1) was answered by the CE, and before its
//	    answer is recorded: the jobs exist on the CE, the job list has only
//	    the pending row.
//	CESUB_TEST_FAULT=die-before-commit:N
//	    SIGKILL right after the Nth cluster id was written to the pending
//	    row, before the procs and the commit are sent (HTCondor only): the
//	    schedd drops the transaction, the pending row has nothing to find.
//	CESUB_TEST_NO_PENDING=1
//	    Do not write submissions ahead (no pending rows): the throughput
//	    baseline bench/bulk.sh compares with.
//	CESUB_TEST_KEYS=FILE
//	    Append "KEY CE" to FILE for each submission request, before it is
//	    written ahead and sent: a test counts the jobs the CE made for a
//	    command by their keys (ARC: the cesub-submission:KEY/ annotation in
//	    the description; HTCondor: CesubSubmission == "KEY").

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// faultHook is what CESUB_TEST_FAULT and CESUB_TEST_NO_PENDING asked for.
type faultHook struct {
	afterRequest int // die after the answer to this request (1-based), 0 never
	beforeCommit int // die after this cluster id was written ahead, 0 never
	noPending    bool
	keys         string // CESUB_TEST_KEYS
	requests     atomic.Int64
	clusters     atomic.Int64
}

// loadFaultHook reads the test-only environment.
func loadFaultHook() *faultHook {
	h := &faultHook{noPending: os.Getenv("CESUB_TEST_NO_PENDING") == "1", keys: os.Getenv("CESUB_TEST_KEYS")}
	what, n, _ := strings.Cut(os.Getenv("CESUB_TEST_FAULT"), ":")
	k, err := strconv.Atoi(n)
	if err != nil || k <= 0 {
		return h
	}
	switch what {
	case "die-after-request":
		h.afterRequest = k
	case "die-before-commit":
		h.beforeCommit = k
	}
	return h
}

// answered returns the function to call where the answer to one request
// first reaches the submitter (however often it is called).
func (h *faultHook) answered() func() {
	if h.afterRequest == 0 {
		return func() {}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if h.requests.Add(1) == int64(h.afterRequest) {
				die()
			}
		})
	}
}

// sending logs the key of a request about to be written ahead and sent
// (CESUB_TEST_KEYS); a key that cannot be logged stops the submission, as
// the test could not count its jobs.
func (h *faultHook) sending(key, ce string) error {
	if h.keys == "" {
		return nil
	}
	f, err := os.OpenFile(h.keys, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(key + " " + ce + "\n") // one write: whole lines even from processes at once
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// assigned is called after a cluster id was written ahead.
func (h *faultHook) assigned() {
	if h.beforeCommit != 0 && h.clusters.Add(1) == int64(h.beforeCommit) {
		die()
	}
}

// die is SIGKILL to this process: nothing deferred runs, nothing is flushed.
func die() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
