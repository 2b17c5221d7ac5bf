package htcondor

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// HTCondor job states (JobStatus) as condor_q names them.
var statusNames = map[int64]string{1: "Idle", 2: "Running", 3: "Removed", 4: "Completed", 5: "Held", 6: "Transferring Output", 7: "Suspended"}

// holdSpoolingInput is HoldReasonCode 16: held until the client's input files arrive.
const holdSpoolingInput = 16

// jobProjection is what status asks the schedd for.
const jobProjection = "ClusterId ProcId JobStatus HoldReason HoldReasonCode ExitCode ExitBySignal ExitSignal JobBatchName QDate RemoveReason Owner"

// jobFromAd maps a job ad to the common job.
func (c *Client) jobFromAd(ad *classad.Ad) *ce.Job {
	cl, _ := ad.Int("ClusterId")
	pr, _ := ad.Int("ProcId")
	st, _ := ad.Int("JobStatus")
	local := fmt.Sprintf("%d.%d", cl, pr)
	j := &ce.Job{ID: c.JobID(local), LocalID: local, CE: c.Endpoint(), Flavour: ce.HTCondor, RawState: statusNames[st]}
	if j.RawState == "" {
		j.RawState = strconv.FormatInt(st, 10)
	}
	j.Name, _ = ad.Str("JobBatchName")
	if q, ok := ad.Int("QDate"); ok && q > 0 {
		t := time.Unix(q, 0).UTC()
		j.Submitted = &t
	}
	switch st {
	case 1:
		j.State = ce.StateQueuing
	case 2, 7:
		j.State = ce.StateRunning
	case 3:
		j.State = ce.StateKilled
		if r, ok := ad.Str("RemoveReason"); ok && r != "" {
			j.Errors = append(j.Errors, r)
		}
	case 4:
		j.State = ce.StateFinished
		if sig, _ := ad.Bool("ExitBySignal"); sig {
			j.State = ce.StateFailed
			if s, ok := ad.Int("ExitSignal"); ok {
				j.Errors = append(j.Errors, fmt.Sprintf("killed by signal %d", s))
			}
		} else if code, ok := ad.Int("ExitCode"); ok {
			n := int(code)
			j.ExitCode = &n
		}
	case 5:
		code, _ := ad.Int("HoldReasonCode")
		reason, _ := ad.Str("HoldReason")
		if code == holdSpoolingInput {
			j.State = ce.StateAccepted
			j.RawState = "Held (spooling input)"
		} else {
			j.State = ce.StateHeld
			if reason != "" {
				j.Errors = append(j.Errors, reason)
			}
		}
	case 6:
		j.State = ce.StateFinishing
	default:
		j.State = ce.StateUnknown
	}
	return j
}

// clusterConstraint selects the clusters of ids.
func clusterConstraint(ids []string) (string, map[string]bool, error) {
	clusters := map[int]bool{}
	want := map[string]bool{}
	for _, id := range ids {
		cl, pr, err := parseProcID(id)
		if err != nil {
			return "", nil, err
		}
		clusters[cl] = true
		want[fmt.Sprintf("%d.%d", cl, pr)] = true
	}
	var cls []int
	for cl := range clusters {
		cls = append(cls, cl)
	}
	sort.Ints(cls)
	parts := make([]string, len(cls))
	for i, cl := range cls {
		parts[i] = "ClusterId == " + strconv.Itoa(cl)
	}
	return strings.Join(parts, " || "), want, nil
}

// query runs QUERY_JOB_ADS with constraint and projection.
func (c *Client) query(ctx context.Context, constraint, projection string) ([]*classad.Ad, error) {
	ctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	conn, _, err := c.scheddConn(ctx, cedar.CmdQueryJobAds)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	req := &classad.Ad{}
	if constraint == "" {
		constraint = "true"
	}
	e, err := classad.ParseExpr(constraint, classad.Old)
	if err != nil {
		return nil, fmt.Errorf("constraint %q: %w", constraint, err)
	}
	req.Set("Requirements", e)
	req.SetBool("SendServerTime", false)
	if projection != "" {
		req.SetString("Projection", projection)
	}
	conn.PutAd(req)
	if err := conn.EndMessage(); err != nil {
		return nil, err
	}
	return readAnswerAds(conn, conn.NewAnswer(0), "query") // the clusters' procs: not known beforehand
}

// readAnswerAds reads a schedd's answer of ads, one message each, up to the
// end ad (an integer Owner = 0), as QUERY_JOB_ADS and QUERY_SCHEDD_HISTORY
// send it; a header (an integer Owner = 1) is skipped. The end ad's
// ErrorCode is an error, and so are ads the schedd says it could not send
// (MalformedAds) and a count (NumJobMatches) other than the ads read.
// what names the query in errors.
func readAnswerAds(conn *cedar.Conn, budget *classad.Budget, what string) ([]*classad.Ad, error) {
	var out []*classad.Ad
	for {
		ad, err := conn.GetAdIn(budget)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if err := conn.FinishMessage(); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		owner, _ := ad.Get("Owner")
		switch owner {
		case classad.Int(1): // the header: results stream
			continue
		case classad.Int(0): // the end
			if err := answerEnd(ad, len(out), what); err != nil {
				return nil, err
			}
			return out, nil
		}
		out = append(out, ad)
	}
}

// answerEnd checks the end ad of an answer of n ads.
func answerEnd(ad *classad.Ad, n int, what string) error {
	if code, _ := ad.Int("ErrorCode"); code != 0 {
		msg, _ := ad.Str("ErrorString")
		return fmt.Errorf("%s: the schedd answered error %d: %s", what, code, msg)
	}
	if bad, _ := ad.Int("MalformedAds"); bad != 0 {
		return fmt.Errorf("%s: the schedd could not send %d ads", what, bad)
	}
	if sent, ok := ad.Int("NumJobMatches"); ok && sent != int64(n) {
		return fmt.Errorf("%s: the schedd sent %d ads and says %d", what, n, sent)
	}
	return nil
}

// Status implements ce.Backend: one query for all clusters of ids.
func (c *Client) Status(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.status(ctx, ids, false)
}

// status asks the queue once for the clusters of ids (with details, the
// long fields too) and the history for the jobs the queue no longer has.
func (c *Client) status(ctx context.Context, ids []string, details bool) ([]ce.Result, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	constraint, _, err := clusterConstraint(ids)
	if err != nil {
		return nil, err
	}
	if err := c.checkToken(ctx, "status"); err != nil {
		return nil, err
	}
	projection := jobProjection
	if details {
		projection = detailProjection
	}
	ads, err := c.query(ctx, constraint, projection)
	if err != nil {
		return nil, err
	}
	byID := map[string]*ce.Job{}
	now := c.now()
	for _, ad := range ads {
		j := c.jobFromAd(ad)
		if details {
			j.Details = detailsFromAd(ad, now)
		}
		byID[j.LocalID] = j
	}
	out := make([]ce.Result, len(ids))
	for i, id := range ids {
		if j, ok := byID[id]; ok {
			out[i] = ce.Result{ID: c.JobID(id), Job: j}
		} else {
			out[i] = ce.Result{ID: c.JobID(id), Err: fmt.Errorf("%s: %w in the schedd's queue or its history (removed or cleaned long ago, or never there)", c.JobID(id), ce.ErrNotFound)}
		}
	}
	c.fromHistory(ctx, out, details)
	return out, nil
}

// List implements ce.Backend: the jobs of the authenticated owner.
func (c *Client) List(ctx context.Context) ([]ce.Job, error) {
	if err := c.checkToken(ctx, "status"); err != nil {
		return nil, err
	}
	s, err := c.locate(ctx)
	if err != nil {
		return nil, err
	}
	ctx2, cancel := c.ctxTimeout(ctx)
	defer cancel()
	conn, sess, err := c.dial(ctx2, s.Addr, cedar.CmdDCSecQuery, cedar.CmdDCNopRead)
	if err != nil {
		return nil, err
	}
	conn.Close()
	user := sess.User
	owner, _, _ := strings.Cut(user, "@")
	constraint := "true"
	if owner != "" {
		constraint = "Owner == " + classad.QuoteOld(owner)
	}
	ads, err := c.query(ctx, constraint, jobProjection)
	if err != nil {
		return nil, err
	}
	out := make([]ce.Job, 0, len(ads))
	for _, ad := range ads {
		out = append(out, *c.jobFromAd(ad))
	}
	return out, nil
}

// detailProjection adds to jobProjection what status -l shows.
const detailProjection = jobProjection + " RemoteHost LastRemoteHost RemoteWallClockTime JobCurrentStartDate RemoteUserCpu RemoteSysCpu" +
	" ResidentSetSize JobStartDate CompletionDate NumJobStarts RequestCpus RoutedToJobId GridJobId"

// Details implements ce.Detailer: the same one query as Status, with the
// attributes condor_q -l shows for where and how long a job ran.
func (c *Client) Details(ctx context.Context, ids []string) ([]ce.Result, error) {
	return c.status(ctx, ids, true)
}

// detailsFromAd reads the long fields of a job ad. The batch id is the job
// the HTCondor-CE's router made of it (RoutedToJobId, or the GridJobId of a
// grid job), else the job's own cluster.proc: on a plain schedd the job is
// in the batch system itself. Wall time counts the current run (now -
// JobCurrentStartDate) on top of RemoteWallClockTime, as condor_q does.
func detailsFromAd(ad *classad.Ad, now time.Time) *ce.Details {
	d := &ce.Details{}
	d.Owner, _ = ad.Str("Owner")
	cl, _ := ad.Int("ClusterId")
	pr, _ := ad.Int("ProcId")
	d.BatchID = fmt.Sprintf("%d.%d", cl, pr)
	if g, ok := ad.Str("GridJobId"); ok && g != "" {
		d.BatchID = g
	}
	if r, ok := ad.Str("RoutedToJobId"); ok && r != "" {
		d.BatchID = r
	}
	st, _ := ad.Int("JobStatus")
	host, ok := ad.Str("RemoteHost")
	if !ok || host == "" {
		host, _ = ad.Str("LastRemoteHost")
	}
	if host != "" {
		d.ExecutionNodes = []string{host}
	}
	if n, ok := ad.Int("RequestCpus"); ok && n > 0 {
		d.RequestedSlots = int(n)
	}
	wall, hasWall := ad.Int("RemoteWallClockTime")
	if start, ok := ad.Int("JobCurrentStartDate"); ok && start > 0 && st == 2 {
		if run := now.Unix() - start; run > 0 {
			wall += run
			hasWall = true
		}
	}
	if hasWall {
		d.WallTime = &wall
	}
	u, okU := ad.Int("RemoteUserCpu")
	s, okS := ad.Int("RemoteSysCpu")
	if okU || okS {
		cpu := u + s
		d.CPUTime = &cpu
	}
	if rss, ok := ad.Int("ResidentSetSize"); ok {
		d.MemoryKB = &rss
	}
	unix := func(name string) *time.Time {
		if v, ok := ad.Int(name); ok && v > 0 {
			t := time.Unix(v, 0).UTC()
			return &t
		}
		return nil
	}
	d.Started, d.Ended = unix("JobStartDate"), unix("CompletionDate")
	if n, ok := ad.Int("NumJobStarts"); ok {
		d.Starts = int(n)
	}
	return d
}
