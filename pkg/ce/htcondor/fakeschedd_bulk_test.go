package htcondor

// A 1,000-proc submission against the FAKE schedd (fakeschedd_test.go):
// how many times the client waits for the CE, what it sends per proc, and
// that the ads the schedd ends up with are the ads the client made.

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
)

// fakeHoldProxy is a FAKE network path on 127.0.0.1 in front of a fake CE
// that holds the CE's answers until the client has sent nothing for quiet:
// each release after the client sent something is a round trip the client
// waited for (answers that trickle in while it waits are one). It counts them per
// connection; from limit on it holds nothing back (a client that waits
// for every proc would otherwise take quiet per proc), so that a count of
// limit means "limit or more".
type fakeHoldProxy struct {
	addr  string
	quiet time.Duration
	limit int

	mu    sync.Mutex
	trips []int    // releases of each connection, in the order accepted
	from  []string // the address each connection came to the CE from
}

func newFakeHoldProxy(t *testing.T, target string, quiet time.Duration, limit int) *fakeHoldProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeHoldProxy{addr: ln.Addr().String(), quiet: quiet, limit: limit}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			cl, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.trips = append(p.trips, 0)
			p.from = append(p.from, "")
			p.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(cl, target, i)
			}()
		}
	}()
	return p
}

// serve relays one connection: the client's bytes at once, the CE's held
// until the client has been quiet.
func (p *fakeHoldProxy) serve(cl net.Conn, target string, i int) {
	defer cl.Close()
	srv, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer srv.Close()
	p.mu.Lock()
	p.from[i] = srv.LocalAddr().String()
	p.mu.Unlock()
	var mu sync.Mutex
	var held []byte
	last := time.Now()
	busy := false // relaying the client's bytes (a slow CE holds the client up: not a wait)
	sent := false // the client sent something since the last release
	srvDone := make(chan struct{})
	go func() { // client -> CE
		buf := make([]byte, 64<<10)
		for {
			n, err := cl.Read(buf)
			mu.Lock()
			last, busy, sent = time.Now(), true, sent || n > 0
			mu.Unlock()
			if n > 0 {
				if _, werr := srv.Write(buf[:n]); werr != nil {
					return
				}
			}
			mu.Lock()
			last, busy = time.Now(), false
			mu.Unlock()
			if err != nil {
				srv.Close()
				return
			}
		}
	}()
	go func() { // CE -> held
		defer close(srvDone)
		buf := make([]byte, 64<<10)
		for {
			n, err := srv.Read(buf)
			mu.Lock()
			held = append(held, buf[:n]...)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(p.quiet / 10)
	defer tick.Stop()
	for {
		var done bool
		select {
		case <-srvDone:
			done = true
		case <-tick.C:
		}
		p.mu.Lock()
		through := p.trips[i] >= p.limit
		p.mu.Unlock()
		mu.Lock()
		out := held
		waited := !busy && time.Since(last) >= p.quiet
		trip := false
		if len(out) > 0 && (done || through || waited) {
			held = nil
			trip, sent = waited && sent, false
		} else {
			out = nil
		}
		mu.Unlock()
		if len(out) > 0 {
			if !through && trip {
				p.mu.Lock()
				p.trips[i]++
				p.mu.Unlock()
			}
			if _, err := cl.Write(out); err != nil {
				return
			}
		}
		if done {
			return
		}
	}
}

// seen is the releases of each connection and the address it came to the
// CE from.
func (p *fakeHoldProxy) seen() ([]int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.trips...), append([]string(nil), p.from...)
}

// TestFakeScheddBulkRoundTrips: a transaction of 1,000 procs (the
// bench's file) costs a bounded number of round trips (the handshake's,
// then one per QMGMT step: a client that waited for each proc's answer
// would need a thousand); the cluster ad
// is sent once, each proc only ProcId, JobStatus and what differs from it
// (here Args, Out, Err); and the ads the schedd assembles from them are
// the ads the client made, attribute for attribute.
func TestFakeScheddBulkRoundTrips(t *testing.T) {
	f := newFakeSchedd(t)
	const limit = 100
	p := newFakeHoldProxy(t, f.addr, 100*time.Millisecond, limit)
	f.advertise = p.addr
	c := f.clientVia(t, p.addr)
	dir := t.TempDir()
	jobs := bulkJobs(t, dir)
	rs, err := c.Submit(fakeCtx(t), jobs, ce.SubmitOptions{BaseDir: dir})
	if err != nil || len(rs) != 1000 {
		t.Fatalf("submit: %v (%d results)", err, len(rs))
	}
	for i, r := range rs {
		if r.Err != nil {
			t.Fatalf("job %d: %v", i, r.Err)
		}
	}
	// each connection waits a bounded number of times: the handshake's,
	// then one per QMGMT step or spool (a client that waited for each
	// NewProc answer or each spooled job reaches the limit)
	trips, from := p.seen()
	f.mu.Lock()
	var names []string
	for _, a := range from {
		names = append(names, f.cmdFrom[a])
	}
	f.mu.Unlock()
	t.Logf("round trips per connection: %v %v", names, trips)
	if !slices.Contains(names, "QMGMT_WRITE") || !slices.Contains(names, "SPOOL_JOB_FILES") {
		t.Fatalf("the transaction or the spool did not go through the proxy: %v", names)
	}
	for i, n := range trips {
		if n > 30 {
			t.Errorf("connection %d (%s) waited for the CE %d times", i, names[i], n)
		}
	}

	f.mu.Lock()
	calls, committed := f.setAttrs, f.committed
	f.mu.Unlock()
	want, err := (&Client{now: c.now}).jobAds(mustGroup(t, jobs, dir), 1, time.Now(), "")
	if err != nil || len(committed) != len(want) {
		t.Fatalf("%d ads committed, %d made: %v", len(committed), len(want), err)
	}
	key, _ := committed[0].Str(attrSubmission) // Submit marks every proc with its submission key and index
	for k := range want {
		markProc(want[k].ad, key, k)
	}
	clusterAttrs := 1 // ClusterId, then all but the per-proc three
	for _, a := range want[0].ad.Attrs {
		if !perProc(a.Name) {
			clusterAttrs++
		}
	}
	if calls[-1] != clusterAttrs {
		t.Errorf("%d SetAttribute calls for the cluster ad, want %d (once each)", calls[-1], clusterAttrs)
	}
	for k := int64(0); k < 1000; k++ {
		// proc 0: ProcId, JobStatus; the others also Args, Out, Err and their submission index
		if wantCalls := map[bool]int{true: 2, false: 6}[k == 0]; calls[k] != wantCalls {
			t.Fatalf("proc %d: %d SetAttribute calls, want %d", k, calls[k], wantCalls)
		}
	}
	for k := range want {
		if diff := adDiff(committed[k], want[k].ad); diff != "" {
			t.Fatalf("proc %d: the schedd's ad differs from the one made: %s", k, diff)
		}
	}
}

// mustGroup is the one cluster jobs make.
func mustGroup(t *testing.T, jobs []jobdesc.Job, dir string) group {
	t.Helper()
	gs, _, err := groups(jobs, dir)
	if err != nil || len(gs) != 1 {
		t.Fatalf("groups: %v, %d", err, len(gs))
	}
	return gs[0]
}

// adDiff names the first attribute whose value differs between the
// schedd's ad and the one made (Owner is the schedd's; the times are the
// submission's), "" if none.
func adDiff(got, want *classad.Ad) string {
	if want == nil {
		return "no ad made"
	}
	names := map[string]bool{}
	for _, a := range append(slices.Clone(got.Attrs), want.Attrs...) {
		names[strings.ToLower(a.Name)] = true
	}
	for n := range names {
		if n == "owner" || n == "qdate" || n == "enteredcurrentstatus" {
			continue
		}
		g, gok := got.Get(n)
		w, wok := want.Get(n)
		if gok != wok || (gok && classad.Unparse(g) != classad.Unparse(w)) {
			return n + ": " + unparseOr(g, gok) + " vs " + unparseOr(w, wok)
		}
	}
	return ""
}

func unparseOr(e classad.Expr, ok bool) string {
	if !ok {
		return "(missing)"
	}
	return classad.Unparse(e)
}

// TestSubmitDefaultsAsEachAdAlone: the defaults a cluster's ads get when
// what the previous ad lacked is reused are those each ad gets looked up
// on its own, also where the procs differ in what they set (a request,
// an attribute of their own, a value the defaults would give).
func TestSubmitDefaultsAsEachAdAlone(t *testing.T) {
	dir := t.TempDir()
	sub := "executable = job.sh\narguments = $(Process)\nqueue 2\nrequest_memory = 64\n+Extra = \"x\"\nqueue 2\n" +
		"+JobPrio = 5\nqueue 1\n"
	for name, text := range map[string]string{"job.sub": sub, "job.sh": "#!/bin/sh\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	var alone, reused []*classad.Ad
	d := &submitDefaults{now: now, file: "job.sub"}
	_, err := submitfile.Parse(filepath.Join(dir, "job.sub"), []byte(sub), submitfile.ParseOptions{
		Options: submitfile.Options{Dir: dir}, ClusterID: 7, Spool: true,
		EachProc: func(_ int, p *submitfile.Proc) error {
			a := &classad.Ad{Attrs: slices.Clone(p.Ad.Attrs)}
			addSubmitDefaults(a, now, "job.sub")
			alone = append(alone, a)
			r := &classad.Ad{Attrs: slices.Clone(p.Ad.Attrs)}
			d.add(r)
			reused = append(reused, r)
			return nil
		}})
	if err != nil || len(alone) != 5 {
		t.Fatalf("parse: %v, %d procs", err, len(alone))
	}
	for k := range alone {
		if len(alone[k].Attrs) != len(reused[k].Attrs) {
			t.Fatalf("proc %d: %d attributes, %d alone", k, len(reused[k].Attrs), len(alone[k].Attrs))
		}
		for i, a := range alone[k].Attrs {
			r := reused[k].Attrs[i]
			if a.Name != r.Name || classad.Unparse(a.Expr) != classad.Unparse(r.Expr) {
				t.Fatalf("proc %d attribute %d: %s = %s, alone %s = %s", k, i, r.Name, classad.Unparse(r.Expr), a.Name, classad.Unparse(a.Expr))
			}
		}
	}
	if v, _ := reused[4].Int("JobPrio"); v != 5 {
		t.Errorf("the proc's own JobPrio lost to the default: %d", v)
	}
	if _, ok := reused[0].Get("Extra"); ok {
		t.Error("a later proc's attribute leaked into the first")
	}
}
