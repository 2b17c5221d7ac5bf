package htcondor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
)

// QMGMT calls (qmgmt_constants.h).
const (
	qNewCluster       = 10002
	qNewProc          = 10003
	qSetAttribute     = 10006
	qCommitNoFlags    = 10007
	qBeginTransaction = 10023
	qSetAttribute2    = 10027
	qCloseSocket      = 10028
	qGetCapabilities  = 10036
	setAttrNoAck      = 1 << 1
)

// group is the jobs that become one cluster: the procs of one submit file,
// or one job of another format.
type group struct {
	jobs    []int // indexes into the submitted jobs
	origin  *jobdesc.Origin
	text    []byte // submit description
	name    string
	dir     string
	procIdx []int // which proc of the description each job is
}

// TranslationWarnings implements ce.Translator: what the submit
// descriptions made from xRSL or ADL jobs drop or change (a submit file is
// sent as written and has none).
func (c *Client) TranslationWarnings(jobs []jobdesc.Job) []jobdesc.Warning {
	_, warns, _ := groups(jobs, "")
	return warns
}

// groups splits jobs into clusters.
func groups(jobs []jobdesc.Job, baseDir string) ([]group, []jobdesc.Warning, error) {
	var out []group
	var warns []jobdesc.Warning
	for i, j := range jobs {
		o := j.Origin
		if o != nil && o.Format == "submit" {
			if n := len(out); n > 0 && out[n-1].origin != nil && out[n-1].origin.File == o.File && string(out[n-1].origin.Text) == string(o.Text) {
				out[n-1].jobs = append(out[n-1].jobs, i)
				out[n-1].procIdx = append(out[n-1].procIdx, o.Index)
				continue
			}
			dir := o.Dir
			if dir == "" {
				dir = baseDir
			}
			out = append(out, group{jobs: []int{i}, origin: o, text: o.Text, name: o.File, dir: dir, procIdx: []int{o.Index}})
			continue
		}
		text, w := submitfile.FromJob(j)
		name := "job"
		dir := baseDir
		if o != nil {
			name, dir = o.File, o.Dir
			for k := range w {
				w[k].File = o.File
			}
		}
		warns = append(warns, w...)
		out = append(out, group{jobs: []int{i}, text: []byte(text + "queue\n"), name: name, dir: dir, procIdx: []int{0}})
	}
	return out, warns, nil
}

// eachAd expands a group's description with the real cluster id into the
// ads condor_submit -spool would send, handing each to fn as soon as it is
// made, with the input files it spools. A proxy, if
// any, travels as x509userproxy.
func (c *Client) eachAd(g group, cluster int, now time.Time, proxy string, fn func(spoolJob) error) error {
	dir, err := filepath.Abs(g.dir)
	if err != nil {
		return err
	}
	want := make(map[int]int, len(g.procIdx)) // proc of the description -> proc of the cluster
	for k, idx := range g.procIdx {
		want[idx] = k
	}
	next := 0
	po := submitfile.Options{Dir: dir}
	queue := ""
	if g.origin != nil {
		po.Vars, po.AllowCommands, queue = g.origin.Vars, g.origin.AllowCommands, g.origin.Queue
		po.Templates = g.origin.Templates
		if g.origin.Stdin != nil { // `queue … from -`: the items standard input gave the first reading
			po.Stdin = bytes.NewReader(g.origin.Stdin)
		}
	}
	repeat := 0
	if g.origin != nil {
		repeat = g.origin.Repeat
	}
	defaults := &submitDefaults{now: now, file: filepath.Base(g.name)}
	_, err = submitfile.Parse(g.name, g.text, submitfile.ParseOptions{Options: po, Queue: queue, Repeat: repeat, ClusterID: cluster, Spool: true,
		CondorVersion: c.scheddVersion(),
		EachProc: func(idx int, p *submitfile.Proc) error {
			k, ok := want[idx]
			if !ok {
				return nil
			}
			if k != next {
				return fmt.Errorf("%s: proc %d came before proc %d", g.name, k, next)
			}
			next++
			ad := &classad.Ad{Attrs: p.Ad.Attrs} // the parser keeps no reference
			ad.SetInt("ProcId", int64(k))
			defaults.add(ad)
			files := c.inputFiles(ad)
			if kb := sandboxKB(files); kb > 0 {
				ad.SetInt("DiskUsage", kb)
			}
			if proxy != "" {
				ad.SetString("x509userproxy", proxy)
				files = c.inputFiles(ad)
			}
			out, _ := ad.Str("Out")
			errName, _ := ad.Str("Err")
			return fn(spoolJob{ad: ad, cluster: int64(cluster), proc: int64(k), out: out, errName: errName, files: files})
		}})
	if err == nil && next != len(g.procIdx) {
		err = fmt.Errorf("%s: %d procs, expected %d (the file changed?)", g.name, next, len(g.procIdx))
	}
	return err
}

// jobAds is eachAd collected.
func (c *Client) jobAds(g group, cluster int, now time.Time, proxy string) ([]spoolJob, error) {
	out := make([]spoolJob, 0, len(g.procIdx))
	err := c.eachAd(g, cluster, now, proxy, func(j spoolJob) error {
		out = append(out, j)
		return nil
	})
	return out, err
}

// submitDefaults adds condor_submit's defaults (addSubmitDefaults) to the
// ads of one cluster. The procs of one description usually have the same
// attributes, so what the previous ad lacked is appended to the next one
// at once instead of looking each default up in it again (~50 lookups in
// ~60 attributes a proc).
type submitDefaults struct {
	now   time.Time
	file  string
	names []string       // the previous ad's attributes before its defaults
	added []classad.Attr // the defaults it lacked, in the order they were added
}

func (d *submitDefaults) add(ad *classad.Ad) {
	if d.names != nil && sameNames(ad.Attrs, d.names) {
		ad.Attrs = append(ad.Attrs, d.added...)
		return
	}
	d.names = d.names[:0]
	for _, a := range ad.Attrs {
		d.names = append(d.names, a.Name)
	}
	n := len(ad.Attrs)
	addSubmitDefaults(ad, d.now, d.file) // only appends: the ad's own values win
	d.added = append(d.added[:0], ad.Attrs[n:]...)
}

// sameNames reports whether attrs are named names, in that order.
func sameNames(attrs []classad.Attr, names []string) bool {
	if len(attrs) != len(names) {
		return false
	}
	for i := range attrs {
		if attrs[i].Name != names[i] {
			return false
		}
	}
	return true
}

// addSubmitDefaults sets what condor_submit adds to every job ad beyond the
// description (values as 23.9.6 writes them; see its -dry-run output).
func addSubmitDefaults(ad *classad.Ad, now time.Time, submitFile string) {
	def := func(name string, e classad.Expr) {
		if !ad.Has(name) {
			ad.Set(name, e)
		}
	}
	ts := classad.Int(now.Unix())
	def("MyType", classad.String("Job"))
	def("TargetType", classad.String("Machine"))
	def("Owner", classad.Undefined{})
	def("QDate", ts)
	def("EnteredCurrentStatus", ts)
	def("JobPrio", classad.Int(0))
	def("Rank", classad.Real(0))
	def("MinHosts", classad.Int(1))
	def("MaxHosts", classad.Int(1))
	def("CurrentHosts", classad.Int(0))
	for _, a := range []string{"NumCkpts", "NumRestarts", "NumJobStarts", "NumJobCompletions", "NumSystemHolds", "ExitStatus",
		"CommittedTime", "CommittedSlotTime", "CommittedSuspensionTime", "CumulativeSlotTime", "CumulativeSuspensionTime",
		"LastSuspensionTime", "TotalSuspensions", "JobNotification", "TransferInputSizeMB"} {
		def(a, classad.Int(0))
	}
	for _, a := range []string{"RemoteSysCpu", "RemoteUserCpu", "RemoteWallClockTime", "CumulativeRemoteSysCpu", "CumulativeRemoteUserCpu"} {
		def(a, classad.Real(0))
	}
	def("ExitBySignal", classad.Bool(false))
	def("TransferIn", classad.Bool(false))
	def("StreamOut", classad.Bool(false))
	def("StreamErr", classad.Bool(false))
	def("JobLeaseDuration", classad.Int(2400))
	def("ImageSize", classad.Int(1))
	def("ExecutableSize", classad.Int(1))
	def("DiskUsage", classad.Int(1))
	// condor_submit's defaults (JOB_DEFAULT_REQUEST*): the job must ask for
	// memory and disk, or Requirements never match a slot
	// (MemoryUsage itself is the starter's: MEMORY_USAGE_METRIC); in this
	// order, so that every ad lists its attributes alike
	for _, d := range [...]struct{ name, expr string }{
		{"RequestDisk", "DiskUsage"},
		{"RequestMemory", "ifthenelse(MemoryUsage =!= undefined,MemoryUsage,(ImageSize + 1023) / 1024)"},
	} {
		if ad.Has(d.name) {
			continue
		}
		if e, err := classad.ParseExpr(d.expr, classad.Old); err == nil {
			ad.Set(d.name, e)
		}
	}
	def("RequestCpus", classad.Int(1))
	def("CondorVersion", classad.String(cedar.Version))
	def("JobSubmitFile", classad.String(submitFile))
}

// sandboxKB is the size of the executable and inputs in KiB, as condor_submit
// estimates DiskUsage.
func sandboxKB(files []inputFile) int64 {
	var total int64
	for _, f := range files {
		total += f.size
	}
	return (total + 1023) / 1024
}

// Submit implements ce.Backend: one QMGMT transaction per cluster (all
// procs or none), then the input files are spooled. A cluster the schedd
// committed is returned even if spooling failed (recorded, never
// resubmitted; its jobs stay held until cleaned).
func (c *Client) Submit(ctx context.Context, jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Result, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if opts.Instances > 1 {
		return nil, errors.New("--instances is an ARC REST 1.1 feature; for HTCondor use `queue N` in the submit file")
	}
	if err := c.checkToken(ctx, "submit"); err != nil {
		return nil, err
	}
	gs, _, err := groups(jobs, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	now := c.now()
	if err := c.checkInputs(jobs, opts); err != nil {
		return nil, err
	}
	results := make([]ce.Result, len(jobs))
	// the spool connection's handshake runs while the transactions do
	pre := c.preDialSpool(ctx, len(jobs))
	if opts.Key == "" {
		opts.Key = ce.NewSubmissionKey()
	}
	s := &submission{c: c, opts: opts, now: now}
	var created []spoolJob // what the spool step sends, all clusters
	var owners []int       // the result index of each created job
	for _, g := range gs {
		ids, sj, err := s.cluster(ctx, g)
		for k, i := range g.jobs {
			if err != nil {
				results[i] = ce.Result{Err: err}
				continue
			}
			results[i] = c.created(ids[k], jobs[i].Name, sj[k], now)
			created = append(created, sj[k])
			owners = append(owners, i)
		}
	}
	s.finish()
	if len(created) == 0 {
		pre.close()
	} else {
		announced := opts.Announce(results) // on record while the files go
		defer announced()
		c.spoolCreated(ctx, created, owners, results, opts, pre)
	}
	if len(created) == 0 && ce.AllFailed(results) {
		return nil, results[0].Err
	}
	// jobs the schedd created are results even when their spooling failed:
	// the caller lists them (with their ids) and records them
	return results, nil
}

// checkInputs refuses missing input files before anything is created (from
// the job model; the ads are built once, with the real cluster id, inside
// the transaction, which a problem found there aborts), and a missing
// proxy file.
func (c *Client) checkInputs(jobs []jobdesc.Job, opts ce.SubmitOptions) error {
	t0 := time.Now()
	for _, j := range jobs {
		dir := opts.BaseDir
		if j.Origin != nil && j.Origin.Dir != "" {
			dir = j.Origin.Dir
		}
		for _, in := range j.Inputs {
			p, ok := in.Local(dir)
			if !ok || strings.Contains(p, "$(") {
				continue // fetched by the CE, or expanded with the cluster id (checked in the transaction)
			}
			if err := sendable(p); err != nil {
				return &ce.InputError{Err: fmt.Errorf("input file %q: %w (nothing was submitted)", in.Name, err)}
			}
		}
	}
	if opts.ProxyFile != "" {
		if _, err := os.Stat(opts.ProxyFile); err != nil {
			return fmt.Errorf("proxy: %w (nothing was submitted)", err)
		}
	}
	c.debugf("inputs checked in %s", time.Since(t0).Round(time.Millisecond))
	return nil
}

// submission runs the clusters of one Submit on one QMGMT connection,
// opened for the first cluster and again after a failure.
type submission struct {
	c    *Client
	opts ce.SubmitOptions
	now  time.Time
	sess *qmgmtSession
}

// cluster runs the transaction of one cluster and returns its proc ids and
// what spooling sends. A commit whose answer was lost is looked up in the
// schedd's queue.
func (s *submission) cluster(ctx context.Context, g group) ([]string, []spoolJob, error) {
	c := s.c
	t0 := time.Now()
	if s.sess == nil {
		sess, err := c.openQmgmt(ctx)
		if err != nil {
			return nil, nil, err
		}
		s.sess = sess
	}
	err := s.sess.begin()
	var ids []string
	var sj []spoolJob
	if err == nil {
		ids, sj, err = c.submitCluster(ctx, s.sess.q, g, s.opts, s.now)
	}
	c.debugf("QMGMT transaction: %d procs in %s", len(g.jobs), time.Since(t0).Round(time.Millisecond))
	if mc := (*ce.MaybeCreatedError)(nil); errors.As(err, &mc) && len(ids) > 0 {
		s.drop()
		err = c.lostCommit(ctx, err, mc, ids, s.opts.Warn)
	}
	if err != nil {
		s.drop() // a fresh connection for the next cluster
		return nil, nil, err
	}
	return ids, sj, nil
}

// drop closes the connection.
func (s *submission) drop() {
	if s.sess != nil {
		s.sess.close()
		s.sess = nil
	}
}

// finish ends the connection.
func (s *submission) finish() {
	if s.sess != nil {
		s.sess.finish()
	}
}

// lostCommit: the schedd's answer to the commit was lost; its queue says
// whether the cluster exists (its id came with NewCluster). nil when all
// its procs are there (with a warning); the commit's error err when the
// queue cannot tell.
func (c *Client) lostCommit(ctx context.Context, err error, mc *ce.MaybeCreatedError, ids []string, warn func(string)) error {
	lctx, cancel := ce.LookupContext(ctx)
	n, qerr := c.clusterProcs(lctx, ids[0])
	cancel()
	switch {
	case qerr != nil:
		c.debugf("asking the schedd for cluster of %s: %v", ids[0], qerr)
	case n == len(ids):
		if warn != nil {
			warn(fmt.Sprintf("the schedd's answer to the commit was lost (%v); its queue has the cluster with all %d procs", mc.Err, n))
		}
		return nil
	case n == 0:
		return fmt.Errorf("%w; the schedd's queue has no such cluster: nothing was created", mc.Err)
	}
	return err
}

// created is the result of a proc the schedd created: held until its
// input files are spooled.
func (c *Client) created(id, name string, sj spoolJob, now time.Time) ce.Result {
	return ce.Result{ID: c.JobID(id), Job: &ce.Job{ID: c.JobID(id), LocalID: id, CE: c.Endpoint(),
		Flavour: ce.HTCondor, Name: name, State: ce.StateAccepted, RawState: "Held (spooling input)", Submitted: &now,
		Stdout: sandboxName(sj.out), Stderr: sandboxName(sj.errName)}}
}

// spoolCreated sends the input files of the created jobs; a failure is each
// one's error (the job exists, held, and is recorded).
func (c *Client) spoolCreated(ctx context.Context, created []spoolJob, owners []int, results []ce.Result, opts ce.SubmitOptions, pre preDialed) {
	t0 := time.Now()
	err := c.spoolParallel(ctx, created, opts.Progress, pre)
	c.debugf("spooled the input files of %d procs in %s", len(created), time.Since(t0).Round(time.Millisecond))
	if err != nil {
		for _, i := range owners {
			results[i].Err = fmt.Errorf("job %s was created but spooling its input files failed (it stays held; clean it with `cesub clean`): %w", results[i].ID, err)
		}
	}
}

// sandboxName is the name a stdout/stderr file has in the output sandbox.
func sandboxName(p string) string {
	if p == "" || p == "/dev/null" {
		return ""
	}
	return filepath.Base(p)
}

// qmgmt is one queue-management connection.
type qmgmt struct{ conn *cedar.Conn }

// call sends a request and reads {int rval; [int errno; ad]} (rval < 0: error).
func (q *qmgmt) reply(what string) (int64, error) {
	rval, err := q.conn.GetInt()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if rval >= 0 {
		return rval, q.conn.FinishMessage()
	}
	errno, _ := q.conn.GetInt()
	reason := ""
	if eom, err := q.conn.PeekEOM(); err == nil && !eom {
		if ad, err := q.conn.GetAd(); err == nil {
			reason, _ = ad.Str("ErrorReason")
		}
	}
	_ = q.conn.SkipMessage()
	if reason = strings.TrimSpace(reason); reason == "" {
		reason = fmt.Sprintf("errno %d", errno)
	}
	if errno == 13 { // EACCES
		return rval, &cedar.AuthError{Stage: "authorization", Msg: fmt.Sprintf("%s: the schedd refused: %s", what, reason)}
	}
	return rval, fmt.Errorf("%s: the schedd refused: %s", what, reason)
}

// setAttr sends SetAttribute2 with NoAck (no reply; a refusal makes the
// schedd drop the connection, seen at the next call that answers). Each
// call is its own message; the connection batches them into few writes.
func (q *qmgmt) setAttr(cluster, proc int, name string, e classad.Expr) error {
	q.conn.PutInt(qSetAttribute2)
	q.conn.PutInt(int64(cluster))
	q.conn.PutInt(int64(proc))
	q.conn.PutString(classad.Unparse(e))
	q.conn.PutString(name)
	q.conn.PutBytes([]byte{setAttrNoAck}) // the flags are one byte on the wire
	return q.conn.EndMessage()
}

// qmgmtSession is one queue-management connection, used for every cluster
// of a submission (each its own transaction).
type qmgmtSession struct {
	q      *qmgmt
	cancel context.CancelFunc
	used   bool // a transaction was committed: the next needs BeginTransaction
}

// begin starts a transaction. The connection opens with one; after a
// commit, QMGMT calls would apply one by one unless a new one is begun.
func (s *qmgmtSession) begin() error {
	if !s.used {
		s.used = true
		return nil
	}
	s.q.conn.PutInt(qBeginTransaction)
	if err := s.q.conn.EndMessage(); err != nil {
		return err
	}
	_, err := s.q.reply("BeginTransaction")
	return err
}

// openQmgmt connects for QMGMT_WRITE_CMD (or takes the connection Warm
// made) and asks the schedd's capabilities.
// Like the sandbox transfers, the session runs under the idle limit: a
// submission of many procs or clusters goes on as long as the schedd
// answers (its commit of 100,000 procs alone takes many seconds).
func (c *Client) openQmgmt(ctx context.Context) (*qmgmtSession, error) {
	ctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	w := c.warm
	c.warm = nil
	c.mu.Unlock()
	conn := w.take()
	if conn != nil {
		conn.SetContext(ctx)
	} else {
		if w != nil && w.err != nil {
			c.debugf("connection made beforehand failed (%v); connecting again", w.err)
		}
		var err error
		if conn, err = c.workConn(ctx, cedar.CmdQmgmtWriteCmd); err != nil {
			cancel()
			return nil, err
		}
	}
	conn.SetIdleTimeout(c.timeout)
	conn.PutInt(qGetCapabilities)
	conn.PutInt(0)
	err := conn.EndMessage()
	if err == nil {
		if _, err = conn.GetAd(); err == nil {
			err = conn.FinishMessage()
		}
	}
	if err != nil {
		conn.Close()
		cancel()
		return nil, fmt.Errorf("GetCapabilities: %w", err)
	}
	return &qmgmtSession{q: &qmgmt{conn: conn}, cancel: cancel}, nil
}

// Warm implements ce.Warmer: after the token pre-flight, the QMGMT
// connection's handshake runs while the caller reads the descriptions.
// The schedd calls its queue handler only when the first request arrives
// (QMGMT_WRITE_CMD waits for its payload), so the waiting connection does
// not hold the schedd up.
func (c *Client) Warm(ctx context.Context) (release func()) {
	if err := c.checkToken(ctx, "submit"); err != nil {
		return func() {} // Submit says why
	}
	w := c.dialAhead(ctx, cedar.CmdQmgmtWriteCmd)
	c.mu.Lock()
	c.warm = w
	c.mu.Unlock()
	return w.close
}

// finish says goodbye (CloseSocket) and closes.
func (s *qmgmtSession) finish() {
	s.q.conn.PutInt(qCloseSocket)
	_ = s.q.conn.EndMessage()
	s.close()
}

func (s *qmgmtSession) close() {
	s.q.conn.Close()
	s.cancel()
}

// submitCluster runs one transaction on q: NewCluster, the procs (the
// cluster ad after the first), CommitTransaction. It returns the proc ids
// and the final ads. The ads are made while the first ones are being sent
// and processed; a problem found in a later ad (a missing input file)
// abandons the transaction: the connection is closed, the schedd creates
// nothing.
func (c *Client) submitCluster(ctx context.Context, q *qmgmt, g group, opts ce.SubmitOptions, now time.Time) ([]string, []spoolJob, error) {
	conn := q.conn
	conn.PutInt(qNewCluster)
	if err := conn.EndMessage(); err != nil {
		return nil, nil, err
	}
	cl, err := q.reply("NewCluster")
	if err != nil {
		return nil, nil, err
	}
	cluster := int(cl)
	if opts.Assigned != nil { // written ahead before anything can be committed
		if err := opts.Assigned(strconv.Itoa(cluster)); err != nil {
			return nil, nil, fmt.Errorf("cluster %d: %w (the transaction was abandoned; nothing was created)", cluster, err)
		}
	}
	n := len(g.procIdx)
	made := make(chan spoolJob, 64)
	stop := make(chan struct{})
	var buildErr error
	go func() {
		defer close(made)
		buildErr = c.makeAds(g, cluster, now, opts.ProxyFile, made, stop)
	}()
	defer func() {
		close(stop)
		for range made { // let the maker finish
		}
	}()
	// The procs are pipelined: NewProc and the attributes of every proc go
	// out without waiting, a reader checks each NewProc answer. The schedd
	// numbers procs 0, 1, … in a new cluster; an answer that differs fails
	// the transaction before it is committed. The cluster ad is the first
	// proc's; each proc sends what differs from it.
	jobs := make([]spoolJob, 0, n)
	ids := make([]string, n)
	t0 := time.Now()
	var wrote, answered time.Duration
	defer func() {
		c.debugf("cluster %d: procs sent in %s, answered in %s", cluster, wrote.Round(time.Millisecond), answered.Round(time.Millisecond))
	}()
	write := func() error {
		defer func() { wrote = time.Since(t0) }()
		var base *procDiff
		for k := 0; k < n; k++ {
			j, ok := <-made
			if !ok {
				if buildErr == nil {
					buildErr = errors.New("the job ads ended early")
				}
				return buildErr
			}
			jobs = append(jobs, j)
			markProc(j.ad, opts.Key, g.jobs[k])
			var err error
			if base, err = sendProc(q, cluster, k, j.ad, base); err != nil {
				return err
			}
			if k > 0 {
				jobs[k].ad = nil // sent: only what spooling needs is kept
			}
		}
		return nil
	}
	read := func() error {
		defer func() { answered = time.Since(t0) }()
		return readProcIDs(q, cluster, ids)
	}
	if n >= qmgmtBatchingFrom {
		conn.SetReadBatching(qmgmtReadBatching)
	}
	err = conn.Pipeline(write, read)
	conn.SetReadBatching(0) // the commit's answer is waited for
	if err != nil {
		return nil, nil, err
	}
	tc := time.Now()
	conn.PutInt(qCommitNoFlags)
	if err := conn.EndMessage(); err != nil {
		return nil, nil, err
	}
	if err := c.commitReply(q, opts.Warn); err != nil {
		var mc *ce.MaybeCreatedError
		if errors.As(err, &mc) {
			return ids, jobs, err // the commit went out: the caller asks the schedd whether it took
		}
		return nil, nil, err
	}
	c.debugf("cluster %d committed with %d procs (the schedd took %s to commit)", cluster, n, time.Since(tc).Round(time.Millisecond))
	return ids, jobs, nil
}

// qmgmtReadBatching is the longest the reader of a transaction's NewProc
// answers waits before a read (cedar.Conn.SetReadBatching): the answers
// matter only before the commit, and reading each as it comes costs the
// client a wake-up per proc while the schedd needs the CPU to take the
// procs. From qmgmtBatchingFrom procs.
const (
	qmgmtReadBatching = 2 * time.Millisecond
	qmgmtBatchingFrom = 50
)

var errStopped = errors.New("stopped")

// makeAds makes the job ads of cluster into made until stop, refusing a
// missing input file.
func (c *Client) makeAds(g group, cluster int, now time.Time, proxy string, made chan<- spoolJob, stop <-chan struct{}) error {
	t0 := time.Now()
	err := c.eachAd(g, cluster, now, proxy, func(j spoolJob) error {
		for _, f := range j.files {
			if f.missing != nil {
				return fmt.Errorf("input file %q: %w (the transaction was abandoned; nothing was created)", f.local, f.missing)
			}
		}
		select {
		case made <- j:
			return nil
		case <-stop:
			return errStopped
		}
	})
	c.debugf("cluster %d: %d job ads made in %s", cluster, len(g.procIdx), time.Since(t0).Round(time.Millisecond))
	return err
}

// sendProc sends proc k of cluster with ad: NewProc; for the first proc
// the cluster ad (as condor_submit sends it: ClusterId first, then what is
// not per proc); ProcId and JobStatus; for the others what differs from
// the first proc (base, made from the first ad and returned).
func sendProc(q *qmgmt, cluster, k int, ad *classad.Ad, base *procDiff) (*procDiff, error) {
	conn := q.conn
	conn.PutInt(qNewProc)
	conn.PutInt(int64(cluster))
	if err := conn.EndMessage(); err != nil {
		return base, err
	}
	if k == 0 {
		base = newProcDiff(ad)
		if err := q.setAttr(cluster, -1, "ClusterId", classad.Int(cluster)); err != nil {
			return base, err
		}
		for _, a := range ad.Attrs {
			if !perProc(a.Name) {
				if err := q.setAttr(cluster, -1, a.Name, a.Expr); err != nil {
					return base, err
				}
			}
		}
	}
	status, _ := ad.Int("JobStatus")
	if err := q.setAttr(cluster, k, "ProcId", classad.Int(k)); err != nil {
		return base, err
	}
	if err := q.setAttr(cluster, k, "JobStatus", classad.Int(status)); err != nil {
		return base, err
	}
	if k == 0 {
		return base, nil
	}
	return base, base.each(ad, func(name string, e classad.Expr) error {
		return q.setAttr(cluster, k, name, e)
	})
}

// readProcIDs reads the answers to the NewProc of each proc of cluster
// into ids: the schedd numbers them 0, 1, … in a new cluster, and an
// answer that differs abandons the transaction.
func readProcIDs(q *qmgmt, cluster int, ids []string) error {
	for k := range ids {
		pr, err := q.reply(fmt.Sprintf("NewProc %d", k))
		if err != nil {
			return err
		}
		if pr != int64(k) {
			return fmt.Errorf("NewProc: the schedd numbered proc %d as %d; the transaction is abandoned", k, pr)
		}
		ids[k] = fmt.Sprintf("%d.%d", cluster, pr)
	}
	return nil
}

// clusterProcs counts the procs of the cluster of id (cluster.proc) in the
// schedd's queue.
func (c *Client) clusterProcs(ctx context.Context, id string) (int, error) {
	cluster, _, err := parseProcID(id)
	if err != nil {
		return 0, err
	}
	ads, err := c.query(ctx, fmt.Sprintf("ClusterId == %d", cluster), "ClusterId ProcId")
	if err != nil {
		return 0, err
	}
	return len(ads), nil
}

// errorStackText is the messages of a CondorError stack as the schedd
// writes it ("QMGMT:0:message", one per line) without the subsystems and
// codes.
func errorStackText(s string) string {
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if sub, rest, ok := strings.Cut(line, ":"); ok && sub != "" && strings.ToUpper(sub) == sub {
			if code, msg, ok := strings.Cut(rest, ":"); ok {
				if _, err := strconv.Atoi(code); err == nil {
					line = msg
				}
			}
		}
		if line = strings.TrimSpace(line); line != "" {
			msgs = append(msgs, line)
		}
	}
	return strings.Join(msgs, "; ")
}

// perProc: the attributes every proc sets itself (not in the cluster ad).
func perProc(name string) bool {
	return strings.EqualFold(name, "ClusterId") || strings.EqualFold(name, "ProcId") || strings.EqualFold(name, "JobStatus")
}

// procDiff finds what a proc's ad has that the cluster ad (the first
// proc's) does not: ads made by the same code list their attributes in the
// same order, so most comparisons are positional.
type procDiff struct {
	base   *classad.Ad
	byName map[string]int // lower-case name -> index in base
	text   []string       // base values unparsed, filled as needed
}

func newProcDiff(base *classad.Ad) *procDiff {
	d := &procDiff{base: base, byName: make(map[string]int, len(base.Attrs)), text: make([]string, len(base.Attrs))}
	for i, a := range base.Attrs {
		d.byName[strings.ToLower(a.Name)] = i
	}
	return d
}

// each calls fn for every attribute of ad that differs from the cluster
// ad's, and with undefined for one the cluster ad has and ad lacks (a proc
// value shadows the cluster's; the schedd has no per-proc delete).
func (d *procDiff) each(ad *classad.Ad, fn func(string, classad.Expr) error) error {
	seen := make([]bool, len(d.base.Attrs))
	for i, a := range ad.Attrs {
		j := -1
		if i < len(d.base.Attrs) && d.base.Attrs[i].Name == a.Name {
			j = i
		} else if x, ok := d.byName[strings.ToLower(a.Name)]; ok {
			j = x
		}
		if perProc(a.Name) {
			if j >= 0 {
				seen[j] = true
			}
			continue
		}
		if j >= 0 {
			seen[j] = true
			if d.same(j, a.Expr) {
				continue
			}
		}
		if err := fn(a.Name, a.Expr); err != nil {
			return err
		}
	}
	for j, ok := range seen {
		if !ok && !perProc(d.base.Attrs[j].Name) {
			if err := fn(d.base.Attrs[j].Name, classad.Undefined{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// same reports whether e equals the cluster ad's j-th value as sent.
func (d *procDiff) same(j int, e classad.Expr) bool {
	b := d.base.Attrs[j].Expr
	switch v := e.(type) {
	case classad.String:
		w, ok := b.(classad.String)
		return ok && v == w
	case classad.Int:
		w, ok := b.(classad.Int)
		return ok && v == w
	case classad.Bool:
		w, ok := b.(classad.Bool)
		return ok && v == w
	}
	if d.text[j] == "" {
		d.text[j] = classad.Unparse(b)
	}
	return classad.Unparse(e) == d.text[j]
}

// commitReply reads CommitTransaction's answer: rval, [errno], [ad with
// ErrorReason/WarningReason].
func (c *Client) commitReply(q *qmgmt, warn func(string)) error {
	rval, err := q.conn.GetInt()
	if err != nil {
		// the commit was sent: the schedd may have created the cluster
		return ce.MayExist(c.addr.Arg(), fmt.Errorf("CommitTransaction: no answer: %w", err))
	}
	var errno int64
	if rval < 0 {
		errno, _ = q.conn.GetInt()
	}
	var reason, warning string
	if eom, err := q.conn.PeekEOM(); err == nil && !eom {
		if ad, err := q.conn.GetAd(); err == nil {
			reason, _ = ad.Str("ErrorReason")
			warning, _ = ad.Str("WarningReason")
		}
	}
	_ = q.conn.SkipMessage()
	reason, warning = strings.TrimSpace(reason), errorStackText(warning)
	if warning != "" {
		c.debugf("schedd warning: %s", warning)
		if warn != nil && rval >= 0 {
			warn("the schedd says: " + warning)
		}
	}
	if rval < 0 {
		if reason == "" {
			reason = "errno " + strconv.FormatInt(errno, 10)
		}
		return fmt.Errorf("the schedd refused the submission (nothing was created): %s", reason)
	}
	return nil
}
