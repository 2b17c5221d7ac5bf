package htcondor

// The FAKE schedd's queue commands (fakeschedd_test.go): QMGMT, queue and
// history queries, ACT_ON_JOBS.

import (
	"fmt"
	"strings"

	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// fakeTxn is a QMGMT transaction: the cluster ad and its procs' ads.
type fakeTxn struct {
	cluster int
	ad      *classad.Ad
	procs   []*classad.Ad
	calls   map[int64]int // SetAttribute calls by proc (-1: the cluster ad)
}

// serveQmgmt runs QMGMT calls until CloseSocket or the client hangs up;
// a transaction not committed is dropped, as the schedd does.
func (f *fakeScheddServer) serveQmgmt(c *cedar.Conn) {
	tx := &fakeTxn{}
	for {
		call, err := c.GetInt()
		if err != nil {
			return
		}
		switch call {
		case qGetCapabilities:
			_, _ = c.GetInt()
			if c.FinishMessage() != nil {
				return
			}
			c.PutAd(&classad.Ad{})
			_ = c.EndMessage()
		case qBeginTransaction:
			tx = &fakeTxn{}
			fakeReply(c, 0)
		case qNewCluster:
			f.mu.Lock()
			tx = &fakeTxn{cluster: f.nextCluster, ad: &classad.Ad{}}
			f.nextCluster++
			errno := f.clusterErrno
			f.mu.Unlock()
			if errno != 0 {
				fakeRefuse(c, errno, "NewCluster refused by the fake")
				continue
			}
			fakeReply(c, int64(tx.cluster))
		case qNewProc:
			if cl, err := c.GetInt(); err != nil || int(cl) != tx.cluster {
				return
			}
			tx.procs = append(tx.procs, &classad.Ad{})
			fakeReply(c, int64(len(tx.procs)-1))
		case qSetAttribute2:
			if !tx.setAttr(c) {
				return
			}
		case qCommitNoFlags:
			if !f.commit(c, tx) {
				return
			}
			tx = &fakeTxn{}
		default: // CloseSocket, or a call the fake does not know
			return
		}
	}
}

// fakeReply ends the call's message and answers rval.
func fakeReply(c *cedar.Conn, rval int64) {
	if c.FinishMessage() != nil {
		return
	}
	c.PutInt(rval)
	_ = c.EndMessage()
}

// setAttr reads SetAttribute2 (cluster, proc, value, name, one byte of
// flags: NoAck, no answer) into the transaction.
func (tx *fakeTxn) setAttr(c *cedar.Conn) bool {
	cl, err1 := c.GetInt()
	pr, err2 := c.GetInt()
	value, err3 := c.GetString()
	name, err4 := c.GetString()
	flags, err5 := c.GetBytes(1)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || c.FinishMessage() != nil {
		return false
	}
	e, err := classad.ParseExpr(value, classad.Old)
	if err != nil || int(cl) != tx.cluster || flags[0] != setAttrNoAck || pr >= int64(len(tx.procs)) || pr < -1 {
		return false // the schedd drops a connection with a bad SetAttribute
	}
	if tx.calls == nil {
		tx.calls = map[int64]int{}
	}
	tx.calls[pr]++
	if pr == -1 {
		tx.ad.Set(name, e)
	} else {
		tx.procs[pr].Set(name, e)
	}
	return true
}

// fakeRefuse ends the call's message and answers a refusal: rval -1, the
// errno, an ad with the reason.
func fakeRefuse(c *cedar.Conn, errno int64, reason string) {
	if c.FinishMessage() != nil {
		return
	}
	c.PutInt(-1)
	c.PutInt(errno)
	ad := &classad.Ad{}
	ad.SetString("ErrorReason", reason)
	c.PutAd(ad)
	_ = c.EndMessage()
}

// commit answers CommitTransaction: refused with f.refuse's reason, or the
// procs (the cluster ad under each proc's) join the queue owned by the
// authenticated user. With f.hangUp the answer is never sent (false: the
// connection ends).
func (f *fakeScheddServer) commit(c *cedar.Conn, tx *fakeTxn) bool {
	f.mu.Lock()
	refuse, hangUp := f.refuse, f.hangUp
	if refuse == "" && hangUp != fakeHangUpNotCommitted && tx.ad != nil {
		for _, p := range tx.procs {
			ad := &classad.Ad{Attrs: append([]classad.Attr(nil), tx.ad.Attrs...)}
			for _, a := range p.Attrs {
				ad.Set(a.Name, a.Expr)
			}
			owner, _, _ := strings.Cut(fakeScheddUser, "@")
			ad.SetString("Owner", owner)
			f.queue = append(f.queue, ad)
			f.committed = append(f.committed, &classad.Ad{Attrs: append([]classad.Attr(nil), ad.Attrs...)})
		}
		f.setAttrs = tx.calls
	}
	f.mu.Unlock()
	switch {
	case hangUp != fakeAnswers:
		_ = c.FinishMessage()
		return false
	case refuse != "":
		fakeRefuse(c, 1, refuse) // EPERM
	default:
		fakeReply(c, 0)
	}
	return true
}

// serveQuery answers QUERY_JOB_ADS: one message per matching job ad
// (projected), then the summary ad (Owner = 0).
func (f *fakeScheddServer) serveQuery(c *cedar.Conn) {
	req, err := c.GetAd()
	if err != nil || c.FinishMessage() != nil {
		return
	}
	cons, _ := req.Get("Requirements")
	proj, _ := req.Str("Projection")
	f.mu.Lock()
	var ads []*classad.Ad
	for _, j := range f.queue {
		if fakeMatch(cons, j) {
			ads = append(ads, fakeProject(j, proj))
		}
	}
	f.mu.Unlock()
	for _, ad := range ads {
		c.PutAd(ad)
		if c.EndMessage() != nil {
			return
		}
	}
	end := &classad.Ad{}
	end.SetInt("Owner", 0)
	end.SetInt("ErrorCode", 0)
	c.PutAd(end)
	_ = c.EndMessage()
}

// serveHistory answers QUERY_SCHEDD_HISTORY as the history helper
// streams it: a header ad (Owner = 1), the matching ads newest first (at
// most NumJobMatches), a final ad (Owner = 0) with the number sent.
func (f *fakeScheddServer) serveHistory(c *cedar.Conn) {
	req, err := c.GetAd()
	if err != nil || c.FinishMessage() != nil {
		return
	}
	cons, _ := req.Get("Requirements")
	proj, _ := req.Str("Projection")
	limit, _ := req.Int("NumJobMatches")
	f.mu.Lock()
	var ads []*classad.Ad
	for i := len(f.history) - 1; i >= 0 && (limit <= 0 || int64(len(ads)) < limit); i-- {
		if fakeMatch(cons, f.history[i]) {
			ads = append(ads, fakeProject(f.history[i], proj))
		}
	}
	f.mu.Unlock()
	head := &classad.Ad{}
	head.SetInt("Owner", 1)
	c.PutAd(head)
	_ = c.EndMessage()
	for _, ad := range ads {
		c.PutAd(ad)
		if c.EndMessage() != nil {
			return
		}
	}
	end := &classad.Ad{}
	end.SetInt("Owner", 0)
	end.SetInt("NumJobMatches", int64(len(ads)))
	end.SetInt("MalformedAds", 0)
	end.SetInt("ErrorCode", 0)
	c.PutAd(end)
	_ = c.EndMessage()
}

// serveAct answers ACT_ON_JOBS: a result per job, and, once the client
// confirms, the action is done (a removed job leaves the queue for the
// history at once: the fake runs nothing).
func (f *fakeScheddServer) serveAct(c *cedar.Conn) {
	req, err := c.GetAd()
	if err != nil || c.FinishMessage() != nil {
		return
	}
	f.mu.Lock()
	f.actions = append(f.actions, req)
	f.mu.Unlock()
	action, _ := req.Int("JobAction")
	idList, _ := req.Str("ActionIds")
	ids := strings.Split(idList, ",")
	if cons, ok := req.Get("ActionConstraint"); ok && idList == "" { // the jobs the constraint selects
		ids = f.matching(cons)
	}
	res := &classad.Ad{}
	anyDone := false
	f.mu.Lock()
	for _, id := range ids {
		code := f.actionResult(jobAction(action), id)
		anyDone = anyDone || code == arSuccess
		res.SetInt("job_"+strings.Replace(id, ".", "_", 1), int64(code))
	}
	res.SetInt("TotalJobAds", int64(len(f.queue))) // the whole queue, as the schedd counts it
	f.mu.Unlock()
	res.SetInt("ActionResult", 0)
	if anyDone {
		res.SetInt("ActionResult", 1)
	}
	c.PutAd(res)
	if c.EndMessage() != nil || !anyDone {
		return
	}
	if ok, err := c.GetInt(); err != nil || ok != 1 || c.FinishMessage() != nil {
		return // not confirmed: nothing done
	}
	f.mu.Lock()
	for _, id := range ids {
		if f.actionResult(jobAction(action), id) == arSuccess {
			f.apply(jobAction(action), id, req)
		}
	}
	f.mu.Unlock()
	c.PutInt(1)
	_ = c.EndMessage()
}

// actionResult is what action on job id would give (the lock held).
func (f *fakeScheddServer) actionResult(action jobAction, id string) actionResult {
	j := f.find(id)
	if j == nil {
		return arNotFound
	}
	st, _ := j.Int("JobStatus")
	switch {
	case action == jaHold && st == 5:
		return arAlreadyDone
	case action == jaRelease && st != 5:
		return arBadStatus
	}
	return arSuccess
}

// apply does action on job id (the lock held).
func (f *fakeScheddServer) apply(action jobAction, id string, req *classad.Ad) {
	j := f.find(id)
	switch action {
	case jaHold:
		reason, _ := req.Str("HoldReason")
		j.SetInt("JobStatus", 5)
		j.SetInt("HoldReasonCode", 1) // UserRequest
		j.SetString("HoldReason", reason)
	case jaRelease:
		j.SetInt("JobStatus", 1)
		j.Delete("HoldReason")
		j.Delete("HoldReasonCode")
	case jaRemove:
		reason, _ := req.Str("RemoveReason")
		j.SetInt("JobStatus", 3)
		j.SetString("RemoveReason", reason)
		var left []*classad.Ad
		for _, q := range f.queue {
			if q != j {
				left = append(left, q)
			}
		}
		f.queue = left
		f.history = append(f.history, j)
	}
}

// matching lists the ids of the queue's jobs that constraint selects.
func (f *fakeScheddServer) matching(constraint classad.Expr) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, j := range f.queue {
		if j.Matches(constraint) {
			c, _ := j.Int("ClusterId")
			p, _ := j.Int("ProcId")
			ids = append(ids, fmt.Sprintf("%d.%d", c, p))
		}
	}
	return ids
}
