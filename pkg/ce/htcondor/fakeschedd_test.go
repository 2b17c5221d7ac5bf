package htcondor

// A FAKE HTCondor-CE for unit tests: one listener on 127.0.0.1 that is
// both the CE's collector (reached directly) and its schedd (reached
// through a shared-port endpoint id, as on a real CE). It speaks the
// CEDAR commands cesub's client sends, as HTCondor answers them: the
// security handshake (SCITOKENS through the TLS tunnel with a certificate
// of a CA made here, AES-GCM keyed by ECDH) and the resume of its session,
// QUERY_SCHEDD_ADS, QMGMT (transactions, SetAttribute2, commit),
// SPOOL_JOB_FILES_WITH_PERMS, QUERY_JOB_ADS, QUERY_SCHEDD_HISTORY,
// ACT_ON_JOBS, TRANSFER_DATA_WITH_PERMS and DC_SEC_QUERY. It records what
// it received (the committed job ads, the spooled files, the tokens, the
// commands) for the tests to check. The real schedd is tested in
// integration/.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/token"
)

// fakeScheddSock is the shared-port endpoint id the fake schedd advertises.
const fakeScheddSock = "fake_schedd_1"

// fakeScheddUser is the identity the fake maps every token to.
const fakeScheddUser = "pilot@fake.example"

// fakeSpooled is one entry of a spooled input sandbox.
type fakeSpooled struct {
	body string
	mode int64
	dir  bool
}

// fakeScheddServer is the fake CE's state; its mutex guards all of it.
type fakeScheddServer struct {
	addr   string
	srvTLS *tls.Config
	roots  *x509.CertPool

	mu          sync.Mutex
	nextCluster int
	queue       []*classad.Ad                     // committed jobs, in order
	history     []*classad.Ad                     // jobs that left the queue, oldest first
	committed   []*classad.Ad                     // every job ad as committed (copies)
	setAttrs    map[int64]int                     // SetAttribute calls of the last commit, by proc (-1: the cluster ad)
	advertise   string                            // the schedd's address in its ad, if not addr (a proxy in front)
	cmdFrom     map[string]string                 // the command of each connection, by the client's address
	spooled     map[string]map[string]fakeSpooled // job id -> sandbox name -> entry
	output      map[string][]fakeFile             // job id -> its output sandbox
	sessions    map[string][]byte                 // session id -> AES key
	commands    []string                          // commands received, in order
	tokens      []string                          // tokens presented
	socks       []string                          // shared-port endpoints asked for
	actions     []*classad.Ad                     // ACT_ON_JOBS requests
	handshakes  int
	resumes     int

	// faults a test sets before the client's first call
	refuse       string     // the commit's ErrorReason: refuse every submission
	clusterErrno int64      // refuse NewCluster with this errno
	hangUp       fakeHangUp // hang up at CommitTransaction without answering
	spoolFail    string     // the HoldReason of a failed receipt of the spooled files
	denyWrite    bool       // WRITE (DC_SEC_QUERY of DC_NOP_WRITE) is denied
}

// fakeHangUp is where the fake hangs up at CommitTransaction.
type fakeHangUp int

const (
	fakeAnswers            fakeHangUp = iota // it does not: it answers
	fakeHangUpCommitted                      // after committing: the answer is lost
	fakeHangUpNotCommitted                   // before committing (a crash)
)

// newFakeSchedd starts a fake CE on 127.0.0.1; it stops with the test.
func newFakeSchedd(t *testing.T) *fakeScheddServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	caDir := t.TempDir()
	f := &fakeScheddServer{addr: ln.Addr().String(), srvTLS: fakeTLS(t, caDir), nextCluster: 1,
		spooled: map[string]map[string]fakeSpooled{}, output: map[string][]fakeFile{}, sessions: map[string][]byte{}}
	f.roots = x509.NewCertPool()
	pems, _ := filepath.Glob(filepath.Join(caDir, "*.pem"))
	for _, p := range pems {
		b, err := os.ReadFile(p)
		if err != nil || !f.roots.AppendCertsFromPEM(b) {
			t.Fatalf("the fake's CA %s: %v", p, err)
		}
	}
	f.listen(t, ln)
	return f
}

// listen serves every connection ln accepts until the test ends, when the
// listener and the connections still open are closed.
func (f *fakeScheddServer) listen(t *testing.T, ln net.Listener) {
	var wg sync.WaitGroup
	open := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for nc := range open {
			nc.Close()
		}
		f.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			open[nc] = true
			f.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.serve(nc)
				f.mu.Lock()
				delete(open, nc)
				f.mu.Unlock()
			}()
		}
	}()
}

// client is a cesub client of the fake CE with a token minted for it.
func (f *fakeScheddServer) client(t *testing.T) *Client { return f.clientVia(t, f.addr) }

// clientVia is client for a CE reached at hostport (a proxy in front).
func (f *fakeScheddServer) clientVia(t *testing.T, hostport string) *Client {
	t.Helper()
	addr, err := ce.ParseAddress("condor://"+hostport, ce.HTCondor)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ce.Config{Address: addr, Token: fakeTokenSource{fakeToken(t, hostport)}, Timeout: time.Minute,
		TLSFor: func(host string) *tls.Config {
			return &tls.Config{RootCAs: f.roots, ServerName: host, MinVersion: tls.VersionTLS12}
		}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serve runs one connection: an optional shared-port connect, the
// security handshake or a session's resume, then the command.
func (f *fakeScheddServer) serve(nc net.Conn) {
	_ = nc.SetDeadline(time.Now().Add(2 * time.Minute))
	c := cedar.NewConn(nc)
	defer c.Close() // what was answered goes out first
	first, err := c.GetInt()
	if err != nil {
		return
	}
	if first == cedar.CmdSharedPortConnect {
		if !f.sharedPort(c) {
			return
		}
		if first, err = c.GetInt(); err != nil {
			return
		}
	}
	req, err := c.GetAd()
	if first != cedar.CmdDCAuthenticate || err != nil || c.FinishMessage() != nil {
		return
	}
	cmd, _ := req.Int("Command")
	if use, _ := req.Str("UseSession"); use == "YES" {
		if !f.resume(c, req) {
			return
		}
	} else if !f.handshake(c, req) {
		return
	}
	f.record(&f.commands, fakeCommandName(int(cmd)))
	f.mu.Lock()
	if f.cmdFrom == nil {
		f.cmdFrom = map[string]string{}
	}
	f.cmdFrom[nc.RemoteAddr().String()] = fakeCommandName(int(cmd))
	f.mu.Unlock()
	f.dispatch(c, int(cmd))
}

// sharedPort reads the rest of a shared-port connect (the endpoint id, the
// client's name, a deadline, no more arguments); the digests restart.
func (f *fakeScheddServer) sharedPort(c *cedar.Conn) bool {
	sock, err := c.GetString()
	if err != nil {
		return false
	}
	for _, read := range []func() error{
		func() error { _, err := c.GetString(); return err },
		func() error { _, err := c.GetInt(); return err },
		func() error { _, err := c.GetInt(); return err },
	} {
		if read() != nil {
			return false
		}
	}
	if c.FinishMessage() != nil || sock != fakeScheddSock {
		return false
	}
	f.record(&f.socks, sock)
	c.ResetDigests()
	return true
}

// handshake is the daemon's side of a new security session: negotiation
// (authentication and AES required, SCITOKENS, ECDH), the token through
// the TLS tunnel, then AES-GCM and the post-authentication answer naming
// the session.
func (f *fakeScheddServer) handshake(c *cedar.Conn, req *classad.Ad) bool {
	key, pub := fakeECDH(req)
	if key == nil {
		return false
	}
	ad := &classad.Ad{}
	for k, v := range map[string]string{"Authentication": "YES", "AuthMethodsList": "SCITOKENS", "Encryption": "YES",
		"Integrity": "YES", "CryptoMethods": "AES", "ECDHPublicKey": pub, "SessionDuration": "600"} {
		ad.SetString(k, v)
	}
	c.PutAd(ad)
	if c.EndMessage() != nil {
		return false
	}
	tok, ok := fakeAuthenticate(c, f.srvTLS)
	if !ok || c.EnableAES(key) != nil {
		return false
	}
	f.mu.Lock()
	f.handshakes++
	sid := fmt.Sprintf("fake:%d", f.handshakes)
	f.sessions[sid] = key
	f.tokens = append(f.tokens, tok)
	authCmd, _ := req.Int("AuthCommand")
	verdict := "AUTHORIZED"
	if f.denyWrite && authCmd == cedar.CmdDCNopWrite {
		verdict = "DENIED"
	}
	f.mu.Unlock()
	post := &classad.Ad{}
	post.SetString("ReturnCode", verdict)
	post.SetString("User", fakeScheddUser)
	post.SetString("Sid", sid)
	post.SetString("ValidCommands", "6,478,488,489,515,516,1111,1112")
	c.PutAd(post)
	return c.EndMessage() == nil && verdict == "AUTHORIZED"
}

// resume is the daemon's side of a session's resume: a session it knows
// is AUTHORIZED and AES-GCM goes on with its key; another is
// SID_NOT_FOUND.
func (f *fakeScheddServer) resume(c *cedar.Conn, req *classad.Ad) bool {
	sid, _ := req.Str("Sid")
	f.mu.Lock()
	key, ok := f.sessions[sid]
	if ok {
		f.resumes++
	}
	f.mu.Unlock()
	ans := &classad.Ad{}
	ans.SetString("ReturnCode", "AUTHORIZED")
	if !ok {
		ans.SetString("ReturnCode", "SID_NOT_FOUND")
	}
	c.PutAd(ans)
	if c.EndMessage() != nil || !ok {
		return false
	}
	return c.EnableAES(key) == nil
}

// dispatch serves one command after the handshake.
func (f *fakeScheddServer) dispatch(c *cedar.Conn, cmd int) {
	switch cmd {
	case cedar.CmdDCSecQuery: // the handshake authorized the command asked about
		ad := &classad.Ad{}
		ad.SetBool("AuthorizationSucceeded", true)
		c.PutAd(ad)
		_ = c.EndMessage()
	case cedar.CmdQueryScheddAds:
		f.serveCollector(c)
	case cedar.CmdQmgmtWriteCmd:
		f.serveQmgmt(c)
	case cedar.CmdSpoolJobFilesPerm:
		f.serveSpool(c)
	case cedar.CmdQueryJobAds:
		f.serveQuery(c)
	case cedar.CmdQueryScheddHist:
		f.serveHistory(c)
	case cedar.CmdActOnJobs:
		f.serveAct(c)
	case cedar.CmdTransferDataPerm:
		f.serveTransfer(c)
	}
	_ = c.Flush()
}

// serveCollector answers QUERY_SCHEDD_ADS with the schedd's ad.
func (f *fakeScheddServer) serveCollector(c *cedar.Conn) {
	if _, err := c.GetAd(); err != nil || c.FinishMessage() != nil {
		return
	}
	f.mu.Lock()
	var idle, running int64
	for _, j := range f.queue {
		switch st, _ := j.Int("JobStatus"); st {
		case 1:
			idle++
		case 2:
			running++
		}
	}
	f.mu.Unlock()
	ad := &classad.Ad{}
	ad.SetString("Name", "127.0.0.1")
	addr := f.addr
	if f.advertise != "" {
		addr = f.advertise
	}
	ad.SetString("MyAddress", "<"+addr+"?sock="+fakeScheddSock+">")
	ad.SetString("CondorVersion", "$CondorVersion: 23.9.6 2024-05-01 BuildID: fake $")
	ad.SetInt("TotalIdleJobs", idle)
	ad.SetInt("TotalRunningJobs", running)
	c.PutInt(1)
	c.PutAd(ad)
	c.PutInt(0)
	_ = c.EndMessage()
}

// record appends s to the list at p under the lock.
func (f *fakeScheddServer) record(p *[]string, s string) {
	f.mu.Lock()
	*p = append(*p, s)
	f.mu.Unlock()
}

// seen returns a copy of the list at p.
func (f *fakeScheddServer) seen(p *[]string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), *p...)
}

func fakeCommandName(cmd int) string {
	names := map[int]string{cedar.CmdDCSecQuery: "DC_SEC_QUERY", cedar.CmdQueryScheddAds: "QUERY_SCHEDD_ADS",
		cedar.CmdQmgmtWriteCmd: "QMGMT_WRITE", cedar.CmdSpoolJobFilesPerm: "SPOOL_JOB_FILES", cedar.CmdQueryJobAds: "QUERY_JOB_ADS",
		cedar.CmdQueryScheddHist: "QUERY_SCHEDD_HISTORY", cedar.CmdActOnJobs: "ACT_ON_JOBS", cedar.CmdTransferDataPerm: "TRANSFER_DATA"}
	if n, ok := names[cmd]; ok {
		return n
	}
	return fmt.Sprintf("command %d", cmd)
}

// job is a copy of the queued job id (cluster.proc), or nil.
func (f *fakeScheddServer) job(id string) *classad.Ad {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j := f.find(id); j != nil {
		return &classad.Ad{Attrs: append([]classad.Attr(nil), j.Attrs...)}
	}
	return nil
}

// find is the queued job id (the lock held), or nil.
func (f *fakeScheddServer) find(id string) *classad.Ad {
	for _, j := range f.queue {
		if fakeJobID(j) == id {
			return j
		}
	}
	return nil
}

func fakeJobID(ad *classad.Ad) string {
	cl, _ := ad.Int("ClusterId")
	pr, _ := ad.Int("ProcId")
	return fmt.Sprintf("%d.%d", cl, pr)
}

// complete ends job id as a schedd does when it exits with code, its
// output sandbox being files.
func (f *fakeScheddServer) complete(id string, code int64, files []fakeFile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j := f.find(id); j != nil {
		j.SetInt("JobStatus", 4)
		j.SetInt("ExitCode", code)
		j.SetBool("ExitBySignal", false)
		j.SetInt("CompletionDate", time.Now().Unix())
		f.output[id] = files
	}
}

// sandbox is what was spooled for job id, by name.
func (f *fakeScheddServer) sandbox(id string) map[string]fakeSpooled {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.spooled[id]
}

// fakeMatch evaluates a constraint as cesub writes them (==, !=, &&, ||,
// parentheses, attribute references, literals) against ad.
func fakeMatch(e classad.Expr, ad *classad.Ad) bool {
	b, ok := fakeEval(e, ad).(classad.Bool)
	return ok && bool(b)
}

func fakeEval(e classad.Expr, ad *classad.Ad) classad.Expr {
	switch x := e.(type) {
	case classad.Paren:
		return fakeEval(x.X, ad)
	case classad.AttrRef:
		if v, ok := ad.Get(x.Name); ok {
			return v
		}
		return classad.Undefined{}
	case classad.Binary:
		l, r := fakeEval(x.X, ad), fakeEval(x.Y, ad)
		switch x.Op {
		case "&&":
			return classad.Bool(fakeMatch(l, ad) && fakeMatch(r, ad))
		case "||":
			return classad.Bool(fakeMatch(l, ad) || fakeMatch(r, ad))
		case "==", "=?=":
			return classad.Bool(strings.EqualFold(classad.Unparse(l), classad.Unparse(r)))
		case "!=", "=!=":
			return classad.Bool(!strings.EqualFold(classad.Unparse(l), classad.Unparse(r)))
		}
	}
	return e
}

// fakeProject keeps projection's attributes of ad (all without one).
func fakeProject(ad *classad.Ad, projection string) *classad.Ad {
	names := strings.FieldsFunc(projection, func(r rune) bool { return r == ' ' || r == ',' })
	if len(names) == 0 {
		return ad
	}
	out := &classad.Ad{}
	for _, n := range names {
		if v, ok := ad.Get(n); ok {
			out.Set(n, v)
		}
	}
	return out
}

// fakeTokenSource hands out one token.
type fakeTokenSource struct{ tok string }

func (s fakeTokenSource) Token(context.Context, time.Duration) (*token.Issued, error) {
	return &token.Issued{Token: token.Token(s.tok), Source: "the test"}, nil
}
func (fakeTokenSource) Name() string     { return "the test" }
func (fakeTokenSource) CanRefresh() bool { return false }
