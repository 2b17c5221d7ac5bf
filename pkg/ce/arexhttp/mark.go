package arexhttp

import (
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// MarkPrefix starts the annotation that ties a job on an A-REX to the
// submission that made it: "cesub-submission:KEY/INDEX". A-REX keeps a
// job's description as it was sent, so when the answer to a submission is
// lost (a reset, a truncated reply, a timeout) the CE's job list and the
// descriptions it holds tell which jobs the submission created: they are
// recorded, none is submitted again.
const MarkPrefix = "cesub-submission:"

// NewSubmissionKey is a random key for one submission request.
func NewSubmissionKey() string { return ce.NewSubmissionKey() }

// KeyOf is the submission key of opts, or a new one.
func KeyOf(opts ce.SubmitOptions) string {
	if opts.Key != "" {
		return opts.Key
	}
	return ce.NewSubmissionKey()
}

// Mark adds the submission's annotation to each job (INDEX counts from 0).
func Mark(jobs []jobdesc.Job, key string) {
	for i := range jobs {
		jobs[i].Annotations = append(append([]string(nil), jobs[i].Annotations...), MarkPrefix+key+"/"+strconv.Itoa(i))
	}
}

// MarkIn finds the mark of submission key in a job description and returns
// the job's index in that submission.
func MarkIn(description, key string) (int, bool) {
	tag := MarkPrefix + key + "/"
	i := strings.Index(description, tag)
	if i < 0 {
		return 0, false
	}
	rest := description[i+len(tag):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(rest[:j])
	return n, err == nil
}
