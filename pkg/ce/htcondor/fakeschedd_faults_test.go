package htcondor

// The HTCondor backend against the FAKE schedd (fakeschedd_test.go) when
// the schedd refuses, loses an answer or fails a transfer, and on the
// paths a real submission takes (a connection made beforehand, a proxy,
// many procs).

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
)

// TestFakeScheddLostCommitAnswer: when the schedd's answer to the commit
// is lost, its queue says whether the cluster exists. Either outcome is
// safe: committed, the submission succeeds with a warning saying so and
// the cluster is in the queue once, spooled; not committed, it fails
// saying nothing was created, and nothing was.
func TestFakeScheddLostCommitAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hangUp  fakeHangUp
		wantErr string
		queued  int
	}{
		{"committed", fakeHangUpCommitted, "", 2},
		{"not committed", fakeHangUpNotCommitted, "the schedd's queue has no such cluster: nothing was created", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSchedd(t)
			f.hangUp = tc.hangUp
			rs, warnings, err := fakeSubmitWarned(t, f)
			switch {
			case tc.wantErr == "" && (err != nil || len(rs) != 2 || rs[0].Err != nil || rs[1].Err != nil || rs[1].Job.LocalID != "1.1"):
				t.Fatalf("submit: %+v %v", rs, err)
			case tc.wantErr == "" && (len(warnings) != 1 || !strings.Contains(warnings[0], "answer to the commit was lost") ||
				!strings.Contains(warnings[0], "all 2 procs")):
				t.Errorf("warnings: %q", warnings)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("submit: %+v %v, want an error saying %q", rs, err, tc.wantErr)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.queue) != tc.queued || len(f.spooled) != tc.queued {
				t.Errorf("the queue has %d jobs, %d spooled: want %d", len(f.queue), len(f.spooled), tc.queued)
			}
		})
	}
}

// fakeSubmitWarned submits fakeSub's two procs to f, collecting warnings.
func fakeSubmitWarned(t *testing.T, f *fakeScheddServer) ([]ce.Result, []string, error) {
	dir := t.TempDir()
	jobs := fakeSubmitFile(t, dir, map[string]string{"job.sub": fakeSub, "job.sh": "#!/bin/sh\n", "data.txt": "d", "inputs/a.txt": "a"})
	var mu sync.Mutex
	var warnings []string
	rs, err := f.client(t).Submit(fakeCtx(t), jobs, ce.SubmitOptions{BaseDir: dir, Warn: func(s string) {
		mu.Lock()
		warnings = append(warnings, s)
		mu.Unlock()
	}})
	mu.Lock()
	defer mu.Unlock()
	return rs, warnings, err
}

// TestFakeScheddNewClusterRefused: a refused NewCluster is the schedd's
// refusal (an authorization error for EACCES) and creates nothing.
func TestFakeScheddNewClusterRefused(t *testing.T) {
	for _, tc := range []struct {
		errno int64
		auth  bool
	}{{13, true}, {28, false}} {
		f := newFakeSchedd(t)
		f.clusterErrno = tc.errno
		jobs := fakeSubmitFile(t, t.TempDir(), map[string]string{"job.sub": "executable = /bin/true\ntransfer_executable = false\nqueue\n"})
		_, err := f.client(t).Submit(fakeCtx(t), jobs, ce.SubmitOptions{})
		var ae *cedar.AuthError
		if err == nil || !strings.Contains(err.Error(), "NewCluster: the schedd refused: NewCluster refused by the fake") ||
			errors.As(err, &ae) != tc.auth {
			t.Errorf("errno %d: %v (an authorization error: %v, want %v)", tc.errno, err, errors.As(err, &ae), tc.auth)
		}
		if f.job("1.0") != nil {
			t.Errorf("errno %d: a job was created", tc.errno)
		}
	}
}

// TestFakeScheddSpoolFails: jobs the schedd created are results even when
// it fails to receive their files: each says so with the schedd's reason,
// and stays held.
func TestFakeScheddSpoolFails(t *testing.T) {
	f := newFakeSchedd(t)
	f.spoolFail = "no space left on the spool disk"
	c := f.client(t)
	dir := t.TempDir()
	jobs := fakeSubmitFile(t, dir, map[string]string{"job.sub": fakeSub, "job.sh": "#!/bin/sh\n", "data.txt": "d", "inputs/a.txt": "a"})
	rs, err := c.Submit(fakeCtx(t), jobs, ce.SubmitOptions{BaseDir: dir})
	if err != nil || len(rs) != 2 {
		t.Fatalf("submit: %v %v", rs, err)
	}
	for i, r := range rs {
		if r.Job == nil || r.Err == nil || !strings.Contains(r.Err.Error(), "was created but spooling its input files failed") ||
			!strings.Contains(r.Err.Error(), f.spoolFail) {
			t.Errorf("job %d: %+v %v", i, r.Job, r.Err)
			continue
		}
		if st, _ := f.job(r.Job.LocalID).Int("JobStatus"); st != 5 {
			t.Errorf("job %s: status %d, want 5 (held)", r.Job.LocalID, st)
		}
	}
}

// TestFakeScheddPingDenied: a schedd that denies WRITE is reached but does
// not admit the identity, and the ping says which level and who.
func TestFakeScheddPingDenied(t *testing.T) {
	f := newFakeSchedd(t)
	f.denyWrite = true
	p, err := f.client(t).Ping(fakeCtx(t))
	if err != nil || !p.Reachable || p.Admitted || p.Authorizations["READ"] != "ALLOW" || p.Authorizations["WRITE"] != "DENIED" {
		t.Fatalf("ping: %+v %v", p, err)
	}
	if !strings.Contains(p.Problem, "WRITE denied for "+fakeScheddUser) || p.Hint == "" {
		t.Errorf("problem %q, hint %q", p.Problem, p.Hint)
	}
}

// TestFakeScheddWarmSubmitWithProxy: the QMGMT connection Warm makes is the
// one Submit uses, and a proxy travels as x509userproxy, spooled with
// each job's inputs.
func TestFakeScheddWarmSubmitWithProxy(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	ctx := fakeCtx(t)
	dir := t.TempDir()
	jobs := fakeSubmitFile(t, dir, map[string]string{"job.sub": fakeSub, "job.sh": "#!/bin/sh\n", "data.txt": "d", "inputs/a.txt": "a"})
	proxy := filepath.Join(t.TempDir(), "x509up_u1000")
	if err := os.WriteFile(proxy, []byte("-----BEGIN CERTIFICATE-----\nfake\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	release := c.Warm(ctx)
	rs, err := c.Submit(ctx, jobs, ce.SubmitOptions{BaseDir: dir, ProxyFile: proxy})
	release()
	if err != nil || len(rs) != 2 || rs[0].Err != nil {
		t.Fatalf("submit: %+v %v", rs, err)
	}
	qmgmt := 0
	for _, cmd := range f.seen(&f.commands) {
		if cmd == "QMGMT_WRITE" {
			qmgmt++
		}
	}
	if qmgmt != 1 {
		t.Errorf("%d QMGMT connections, want the one Warm made", qmgmt)
	}
	fakeWantAttrs(t, f.job("1.0"), map[string]string{"x509userproxy": `"` + proxy + `"`})
	if got := f.sandbox("1.1")["x509up_u1000"]; got.body != "-----BEGIN CERTIFICATE-----\nfake\n" || got.mode != 0o600 {
		t.Errorf("the spooled proxy: %+v", got)
	}
}

// TestFakeScheddManyProcs: 200 procs spool over two connections, their
// answers read in batches; every proc's files arrive and every proc is
// released.
func TestFakeScheddManyProcs(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	dir := t.TempDir()
	sub := strings.Replace(fakeSub, "queue 2", "queue 200", 1)
	jobs := fakeSubmitFile(t, dir, map[string]string{"job.sub": sub, "job.sh": "#!/bin/sh\n", "data.txt": "d", "inputs/a.txt": "a"})
	rs, err := c.Submit(fakeCtx(t), jobs, ce.SubmitOptions{BaseDir: dir})
	if err != nil || len(rs) != 200 || ce.AllFailed(rs) {
		t.Fatalf("submit: %v", err)
	}
	spools := slices.DeleteFunc(f.seen(&f.commands), func(s string) bool { return s != "SPOOL_JOB_FILES" })
	if len(spools) != 2 {
		t.Errorf("%d spool connections, want 2", len(spools))
	}
	for i, r := range rs {
		if r.Err != nil || f.sandbox(r.Job.LocalID)["data.txt"].body != "d" {
			t.Fatalf("job %d: %v, spooled %v", i, r.Err, f.sandbox(r.Job.LocalID))
		}
		if st, _ := f.job(r.Job.LocalID).Int("JobStatus"); st != 1 {
			t.Fatalf("job %s: status %d after spooling, want 1", r.Job.LocalID, st)
		}
	}
}

// TestFakeScheddPingCertificateRefused: a CE whose certificate is not
// trusted here, or names another host, is reached; the ping's hint is
// about the certificate, not the token.
func TestFakeScheddPingCertificateRefused(t *testing.T) {
	f := newFakeSchedd(t)
	for _, tc := range []struct {
		name string
		cfg  func(host string) *tls.Config
		hint string
	}{
		{"unknown CA", func(host string) *tls.Config { return &tls.Config{ServerName: host} }, "signed by a CA that is not trusted here"},
		{"another host's name", func(string) *tls.Config { return &tls.Config{RootCAs: f.roots, ServerName: "ce.example.org"} },
			"not for the name you used (ce.example.org)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client(t)
			c.tlsFor = tc.cfg
			p, err := c.Ping(fakeCtx(t))
			if err != nil || !p.Reachable || p.Admitted || !strings.Contains(p.Hint, tc.hint) || strings.Contains(p.Hint, "token") {
				t.Errorf("ping: %+v %v, want a hint saying %q", p, err, tc.hint)
			}
		})
	}
}

// TestFakeScheddTokenForAnotherCE: a token whose audience is another CE is
// refused before the CE is contacted, for a submission as for a status.
func TestFakeScheddTokenForAnotherCE(t *testing.T) {
	f := newFakeSchedd(t)
	c := f.client(t)
	c.src = fakeTokenSource{fakeToken(t, "ce.example.org:9619")}
	ctx := fakeCtx(t)
	jobs := fakeSubmitFile(t, t.TempDir(), map[string]string{"job.sub": "executable = /bin/true\ntransfer_executable = false\nqueue\n"})
	_, serr := c.Submit(ctx, jobs, ce.SubmitOptions{})
	_, qerr := c.Status(ctx, []string{"1.0"})
	for _, err := range []error{serr, qerr} {
		var ae *cedar.AuthError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "nothing was sent") || !strings.Contains(err.Error(), "audience") {
			t.Errorf("got %v, want the token refused before sending", err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.handshakes != 0 {
		t.Errorf("the CE was contacted (%d handshakes)", f.handshakes)
	}
}

// TestFakeScheddPingNotCEDAR: a port where nothing listens is not
// reached; one that answers in another protocol is reached, and the ping
// says it does not speak CEDAR.
func TestFakeScheddPingNotCEDAR(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	for _, tc := range []struct {
		name      string
		addr      string
		reachable bool
		hint      string
	}{
		{"nothing listens", closed.Addr().String(), false, "nothing listens on " + closed.Addr().String()},
		{"HTTP", fakePeerHTTP(t), true, "does not speak CEDAR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeScheddServer{addr: tc.addr, roots: x509.NewCertPool()}
			p, err := f.client(t).Ping(fakeCtx(t))
			if err != nil || p.Reachable != tc.reachable || p.Admitted || !strings.Contains(p.Hint, tc.hint) {
				t.Errorf("ping: %+v %v, want reachable %v and a hint saying %q", p, err, tc.reachable, tc.hint)
			}
		})
	}
}

// fakePeerHTTP answers every connection on 127.0.0.1 as an HTTP server
// refusing the request would; it stops with the test.
func fakePeerHTTP(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
			nc.Close()
		}
	}()
	return ln.Addr().String()
}
