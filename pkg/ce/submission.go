package ce

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewSubmissionKey is a random key for one submission request (18 hex
// digits): SubmitOptions.Key.
func NewSubmissionKey() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ValidSubmissionKey reports whether key looks like NewSubmissionKey's (a
// key read back from the job list goes into a CE query).
func ValidSubmissionKey(key string) bool {
	if len(key) < 8 || len(key) > 64 {
		return false
	}
	for _, c := range key {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// PendingHint is what the job list knows of a submission whose answer was
// never recorded.
type PendingHint struct {
	Jobs     int      // jobs the request asked for (with instances: every copy)
	Clusters []string // HTCondor: the cluster ids NewCluster gave, if known
	// Since is when the submission was written ahead (zero: unknown); the
	// CE made its jobs after it (give or take the clocks' skew).
	Since time.Time
	// Known, if set, reports whether a job id of this CE is on the job
	// list already (those need not be looked at).
	Known func(localID string) bool
}

// SubmissionFinder is implemented by flavours that can find the jobs one
// submission request created by its key (SubmitOptions.Key), for a
// submission whose process died between the request and recording the
// answer. It returns every job of the CE that carries the key (none: the
// CE created nothing, or no longer has it), each once; an error when the
// CE could not tell.
type SubmissionFinder interface {
	FindSubmission(ctx context.Context, key string, hint PendingHint) ([]Job, error)
}
