package htcondor

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/classad"
)

// The attributes that tie a job ad to the submission request that made
// it, as the cesub-submission:KEY/INDEX annotation does on an ARC CE: the
// key is the cluster ad's, the index (the job's place in the request) each
// proc's.
const (
	attrSubmission      = "CesubSubmission"
	attrSubmissionIndex = "CesubSubmissionIndex"
)

// markProc puts the submission key and the job's index in it into ad.
func markProc(ad *classad.Ad, key string, index int) {
	if key == "" {
		return
	}
	ad.SetString(attrSubmission, key)
	ad.SetInt(attrSubmissionIndex, int64(index))
}

// findProjection is what FindSubmission asks for.
const findProjection = jobProjection + " Out Err " + attrSubmission

// FindSubmission implements ce.SubmissionFinder: the procs of the queue,
// and of the history, whose ad carries submission key (within the clusters
// the hint names, when it names them).
func (c *Client) FindSubmission(ctx context.Context, key string, hint ce.PendingHint) ([]ce.Job, error) {
	if !ce.ValidSubmissionKey(key) {
		return nil, fmt.Errorf("submission key %q: not one cesub makes", key)
	}
	if err := c.checkToken(ctx, "status"); err != nil {
		return nil, err
	}
	constraint := findConstraint(key, hint.Clusters)
	ads, err := c.query(ctx, constraint, findProjection)
	if err != nil {
		return nil, err
	}
	// a job that ended and left the queue is in the history
	old, err := c.history(ctx, constraint, strings.Fields(findProjection), 0)
	if err != nil {
		c.debugf("history of submission %s: %v (the queue's jobs only)", key, err)
	}
	seen := map[string]bool{}
	var out []ce.Job
	for _, ad := range append(ads, old...) {
		if k, _ := ad.Str(attrSubmission); k != key {
			continue // a schedd that ignored the constraint
		}
		j := c.jobFromAd(ad)
		if seen[j.LocalID] {
			continue
		}
		seen[j.LocalID] = true
		o, _ := ad.Str("Out")
		e, _ := ad.Str("Err")
		j.Stdout, j.Stderr = sandboxName(o), sandboxName(e)
		out = append(out, *j)
	}
	sort.Slice(out, func(a, b int) bool { return procLess(out[a].LocalID, out[b].LocalID) })
	return out, nil
}

// findConstraint selects the procs of submission key, within clusters
// when known (the schedd finds a cluster by id without reading the queue).
func findConstraint(key string, clusters []string) string {
	c := attrSubmission + " == " + classad.QuoteOld(key)
	var parts []string
	for _, cl := range clusters {
		if n, err := strconv.Atoi(cl); err == nil && n > 0 {
			parts = append(parts, "ClusterId == "+strconv.Itoa(n))
		}
	}
	if len(parts) == 0 {
		return c
	}
	return "(" + strings.Join(parts, " || ") + ") && " + c
}
