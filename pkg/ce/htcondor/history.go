package htcondor

import (
	"context"
	"fmt"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// history runs QUERY_SCHEDD_HISTORY, as condor_history -name does: the
// schedd's history helper reads the history file (newest first) and
// streams the ads that match constraint (at most max; 0: all) with
// projection's attributes. The answer is a header ad (Owner = 1), one
// message per job ad, and a final ad (Owner = 0) with the number sent and
// any error.
func (c *Client) history(ctx context.Context, constraint string, projection []string, max int) ([]*classad.Ad, error) {
	ctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	conn, _, err := c.scheddConn(ctx, cedar.CmdQueryScheddHist)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	e, err := classad.ParseExpr(constraint, classad.Old)
	if err != nil {
		return nil, fmt.Errorf("history constraint %q: %w", constraint, err)
	}
	req := &classad.Ad{}
	req.Set("Requirements", e)
	n := int64(-1)
	if max > 0 {
		n = int64(max)
	}
	req.SetInt("NumJobMatches", n)
	req.SetBool("StreamResults", true) // a message per ad, not one message for all
	if len(projection) > 0 {
		req.SetString("Projection", strings.Join(projection, ","))
	}
	conn.PutAd(req)
	if err := conn.EndMessage(); err != nil {
		return nil, err
	}
	budget := conn.NewAnswer(0)
	if max > 0 {
		budget = conn.NewAnswer(max + 2) // what was asked, the header and the end
	}
	return readAnswerAds(conn, budget, "history")
}

// fromHistory fills the results of jobs the queue no longer has from the
// schedd's history (condor_history): a job that completed or was removed
// and then left the queue is reported in its final state, not "not
// found". With details, the long fields come too. A failed history query
// leaves the results as they were.
func (c *Client) fromHistory(ctx context.Context, out []ce.Result, details bool) {
	var missing []string
	idx := map[string]int{}
	for i, r := range out {
		if r.Job == nil {
			local := r.ID[strings.LastIndex(r.ID, "/")+1:]
			missing = append(missing, local)
			idx[local] = i
		}
	}
	if len(missing) == 0 {
		return
	}
	var parts []string
	for _, id := range missing {
		cl, pr, err := parseProcID(id)
		if err != nil {
			return
		}
		parts = append(parts, fmt.Sprintf("(ClusterId == %d && ProcId == %d)", cl, pr))
	}
	proj := strings.Fields(jobProjection)
	if details {
		proj = strings.Fields(detailProjection)
	}
	proj = append(proj, "EnteredCurrentStatus")
	ads, err := c.history(ctx, strings.Join(parts, " || "), proj, len(missing))
	if err != nil {
		c.debugf("history query for %d jobs not in the queue failed: %v", len(missing), err)
		return
	}
	for _, ad := range ads {
		j := c.jobFromAd(ad)
		i, ok := idx[j.LocalID]
		if !ok || out[i].Job != nil {
			continue
		}
		j.RawState += " (in the history: left the queue)"
		if details {
			j.Details = detailsFromAd(ad, c.now())
		}
		out[i] = ce.Result{ID: out[i].ID, Job: j}
	}
}
