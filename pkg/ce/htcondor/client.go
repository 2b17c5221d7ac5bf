// Package htcondor is the HTCondor-CE backend: it speaks CEDAR (pkg/cedar)
// to the CE's shared port, finds the schedd through the CE's collector,
// authenticates with SCITOKENS (or SSL with an X.509 proxy), and submits
// (QMGMT, one transaction per cluster), spools input files and fetches
// output (the file-transfer protocol), queries (QUERY_JOB_ADS), removes,
// holds and releases (ACT_ON_JOBS), and pings (DC_SEC_QUERY). It registers
// itself as flavour "htcondor".
package htcondor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/token"
)

func init() {
	ce.Backends.Register(ce.RegInfo{Flavour: ce.HTCondor, Label: "HTCondor-CE", New: New, ParseJobID: ParseJobID,
		ValidLocalID: func(id string) error { _, _, err := parseProcID(id); return err },
		Schemes:      []string{"condor", "htcondor"}, URLScheme: "condor", DefaultPort: CEPort, ImpliedByPort: true,
		Audiences: func(a ce.Address) []string { return []string{a.HostPort(), "condor://" + a.HostPort()} },
		Scopes:    scopes, NativeFormat: "submit"})
}

// CEPort is the HTCondor-CE shared port.
const CEPort = 9619

// scopes: HTCondor's READ needs compute.read; WRITE (submit, cancel, and
// the spool upload) needs compute.create, compute.modify and compute.cancel
// together, as the HTCondor-CE maps them.
var scopes = map[string][]string{
	"status": {"compute.read"},
	"submit": {"compute.create", "compute.modify", "compute.cancel"},
	"cancel": {"compute.create", "compute.modify", "compute.cancel"},
	"upload": {"compute.create", "compute.modify", "compute.cancel"},
}

// Client talks to one HTCondor-CE.
type Client struct {
	addr    ce.Address
	src     token.Source
	tlsFor  func(string) *tls.Config
	timeout time.Duration
	debugf  func(string, ...any)
	now     func() time.Time

	files fileCache // input files met during this client's life (one command)

	mu        sync.Mutex
	locateMu  sync.Mutex // one collector lookup at a time
	schedd    *scheddInfo
	fromCache bool // schedd came from the job list, not the collector

	warm *dialing // the QMGMT connection Warm made, until Submit takes it

	sessMu   sync.Mutex
	sessions map[string]*cedar.Session // security sessions by daemon address, resumed by later connections
	inflight map[string]chan struct{}  // a full handshake under way with that daemon
}

// scheddInfo is what the collector says about the CE's schedd.
type scheddInfo struct {
	Name, Version string
	Addr          *cedar.Sinful
}

// New builds a client for cfg.Address (flavour htcondor).
func New(cfg ce.Config) (ce.Backend, error) { return NewClient(cfg) }

// NewClient is New with the concrete type.
func NewClient(cfg ce.Config) (*Client, error) {
	if cfg.TLSFor == nil {
		return nil, errors.New("htcondor: no TLS configuration")
	}
	debugf := cfg.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	return &Client{addr: cfg.Address, src: cfg.Token, tlsFor: cfg.TLSFor, timeout: cfg.Timeout, debugf: debugf, now: time.Now}, nil
}

// Endpoint is the CE's address as cesub writes it: condor://host:port.
func (c *Client) Endpoint() string { return c.addr.URL() }

// JobID implements ce.Backend: condor://host:port/<cluster>.<proc>.
func (c *Client) JobID(localID string) string { return c.addr.URL() + "/" + localID }

// ParseJobID splits condor://host:port/C.P into the CE endpoint and C.P.
func ParseJobID(id string) (endpoint, local string, ok bool) {
	rest, found := strings.CutPrefix(id, "condor://")
	if !found {
		rest, found = strings.CutPrefix(id, "htcondor://")
	}
	if !found {
		return "", "", false
	}
	hostport, local, found := strings.Cut(rest, "/")
	if !found || hostport == "" {
		return "", "", false
	}
	if _, _, err := parseProcID(local); err != nil {
		return "", "", false
	}
	return "condor://" + hostport, local, true
}

// parseProcID reads "cluster.proc".
func parseProcID(s string) (int, int, error) {
	cs, ps, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, fmt.Errorf("job id %q: want cluster.proc", s)
	}
	cl, err1 := strconv.Atoi(cs)
	pr, err2 := strconv.Atoi(ps)
	if err1 != nil || err2 != nil || cl <= 0 || pr < 0 || !digits(cs) || !digits(ps) {
		return 0, 0, fmt.Errorf("job id %q: want cluster.proc", s)
	}
	return cl, pr, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// authConfig is how this client authenticates: SCITOKENS with the token,
// else SSL with the X.509 proxy (the TLS client certificate).
func (c *Client) authConfig(ctx context.Context) (cedar.AuthConfig, string, error) {
	cfg := cedar.AuthConfig{TLSFor: c.tlsFor, Debugf: c.debugf}
	if c.src != nil {
		is, err := c.src.Token(ctx, time.Minute)
		if err != nil {
			return cfg, "", &cedar.AuthError{Stage: "authentication", Method: "SCITOKENS", Msg: err.Error()}
		}
		cfg.Methods = []string{"SCITOKENS"}
		cfg.Token = strings.TrimSpace(is.Token.Reveal())
		return cfg, "bearer token from " + c.src.Name(), nil
	}
	cfg.Methods = []string{"SSL"}
	return cfg, "X.509 proxy (SSL)", nil
}

// ctxTimeout bounds one connection's work when the caller set no deadline.
func (c *Client) ctxTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// collectorTarget is the CE's collector: the address as given, its name the
// TLS host name.
func (c *Client) collectorTarget() *cedar.Sinful {
	hp := c.addr.HostPort()
	return &cedar.Sinful{Raw: "<" + hp + ">", Host: c.addr.Host, Port: strconv.Itoa(c.addr.Port), Alias: c.addr.Host}
}

// dial connects to a daemon (through the shared port when the sinful names
// an endpoint) and runs the security handshake for cmd. As HTCondor's own
// tools do, the first connection to a daemon authenticates and later ones
// resume its session (no TLS, no token check: far less work for the CE);
// a connection that would resume waits for a handshake under way. Only
// DC_SEC_QUERY (ping) always authenticates: it asks about the handshake.
func (c *Client) dial(ctx context.Context, target *cedar.Sinful, cmd, authCmd int) (*cedar.Conn, *cedar.Session, error) {
	// connecting and authenticating take at most --timeout, whatever the
	// caller's deadline for the work after it (a status of many jobs, a
	// transaction): a CE that accepts and never answers fails in --timeout
	hctx, cancel := context.WithCancel(ctx)
	if c.timeout > 0 {
		hctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	defer cancel()
	conn, sess, err := c.dialHandshake(hctx, target, cmd, authCmd)
	if err != nil {
		return nil, sess, err
	}
	conn.SetContext(ctx)
	return conn, sess, nil
}

func (c *Client) dialHandshake(ctx context.Context, target *cedar.Sinful, cmd, authCmd int) (*cedar.Conn, *cedar.Session, error) {
	if cmd == cedar.CmdDCSecQuery {
		return c.dialFull(ctx, target, cmd, authCmd)
	}
	key := target.Raw
	sess, leader, err := c.sessionFor(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	if leader {
		conn, sess, err := c.dialFull(ctx, target, cmd, authCmd)
		c.handshakeDone(key, sess, err)
		return conn, sess, err
	}
	conn, err := c.connect(ctx, target)
	if err != nil {
		return nil, nil, err
	}
	err = conn.ResumeCommand(ctx, cmd, target, sess)
	if err == nil {
		c.debugf("CEDAR %s: resumed session %s (%s as %s)", target.Address(), sess.ID, sess.Method, sess.User)
		return conn, sess, nil
	}
	conn.Close()
	if !errors.Is(err, cedar.ErrSessionRejected) {
		return nil, nil, err
	}
	c.debugf("CEDAR %s: session %s no longer known; authenticating again", target.Address(), sess.ID)
	c.sessMu.Lock()
	if c.sessions[key] == sess {
		delete(c.sessions, key)
	}
	c.sessMu.Unlock()
	return c.dialFull(ctx, target, cmd, authCmd)
}

// sessionFor returns a resumable session with the daemon at key, waiting
// for a handshake under way; or leader=true: the caller authenticates and
// must call handshakeDone.
func (c *Client) sessionFor(ctx context.Context, key string) (sess *cedar.Session, leader bool, err error) {
	for {
		c.sessMu.Lock()
		if s := c.sessions[key]; s.Resumable() {
			c.sessMu.Unlock()
			return s, false, nil
		}
		ch, busy := c.inflight[key]
		if !busy {
			if c.inflight == nil {
				c.inflight = map[string]chan struct{}{}
			}
			c.inflight[key] = make(chan struct{})
			c.sessMu.Unlock()
			return nil, true, nil
		}
		c.sessMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// handshakeDone records the leader's session (if any) and wakes the waiters.
func (c *Client) handshakeDone(key string, sess *cedar.Session, err error) {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	if err == nil && sess.Resumable() {
		if c.sessions == nil {
			c.sessions = map[string]*cedar.Session{}
		}
		c.sessions[key] = sess
	}
	if ch, ok := c.inflight[key]; ok {
		close(ch)
		delete(c.inflight, key)
	}
}

// connect opens a connection to a daemon, through the shared port when the
// sinful names an endpoint.
func (c *Client) connect(ctx context.Context, target *cedar.Sinful) (*cedar.Conn, error) {
	addrs := []string{target.Address()}
	if target.Host != c.addr.Host {
		// a daemon on the CE's loopback or private address: also try the CE's name
		addrs = append(addrs, net.JoinHostPort(c.addr.Host, target.Port))
	}
	var conn *cedar.Conn
	var derr error
	for _, a := range addrs {
		conn, derr = cedar.Dial(ctx, a)
		if derr == nil {
			break
		}
	}
	if derr != nil {
		return nil, derr
	}
	if target.Sock != "" {
		if err := conn.SharedPortConnect(target.Sock, "cesub"); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// dialFull connects and authenticates (a new security session).
func (c *Client) dialFull(ctx context.Context, target *cedar.Sinful, cmd, authCmd int) (*cedar.Conn, *cedar.Session, error) {
	cfg, _, err := c.authConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	conn, err := c.connect(ctx, target)
	if err != nil {
		return nil, nil, err
	}
	sess, err := conn.StartCommand(ctx, cmd, authCmd, target, cfg)
	if err != nil {
		conn.Close()
		return nil, sess, err
	}
	return conn, sess, nil
}

// locate asks the collector for the CE's schedd (cached for the client's life).
func (c *Client) locate(ctx context.Context) (*scheddInfo, error) {
	c.locateMu.Lock()
	defer c.locateMu.Unlock()
	c.mu.Lock()
	if c.schedd != nil {
		s := c.schedd
		c.mu.Unlock()
		return s, nil
	}
	c.mu.Unlock()
	pick, err := c.lookupSchedd(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.schedd, c.fromCache = pick, false
	c.mu.Unlock()
	return pick, nil
}

// lookupSchedd asks the collector where the CE's schedd is.
func (c *Client) lookupSchedd(ctx context.Context) (*scheddInfo, error) {
	ads, err := c.scheddAds(ctx, "Name MyAddress CondorVersion")
	if err != nil {
		return nil, err
	}
	var found []*scheddInfo
	for _, ad := range ads {
		name, _ := ad.Str("Name")
		addr, _ := ad.Str("MyAddress")
		ver, _ := ad.Str("CondorVersion")
		s, err := cedar.ParseSinful(addr)
		if err != nil {
			c.debugf("collector: schedd %s: %v", name, err)
			continue
		}
		found = append(found, &scheddInfo{Name: name, Version: versionNumber(ver), Addr: s})
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("collector %s knows no schedd (is the CE's schedd running?)", c.addr.HostPort())
	}
	pick := found[0]
	for _, s := range found {
		if strings.EqualFold(s.Name, c.addr.Host) {
			pick = s
		}
	}
	c.debugf("schedd %s at %s (HTCondor %s)", pick.Name, pick.Addr.Raw, pick.Version)
	return pick, nil
}

// maxScheddAds bounds the ads of a collector's answer: a CE's collector
// lists its own schedd, or a few.
const maxScheddAds = 1000

// scheddAds asks the CE's collector for its schedds' ads (QUERY_SCHEDD_ADS),
// with projection ("" for whole ads).
func (c *Client) scheddAds(ctx context.Context, projection string) ([]*classad.Ad, error) {
	ctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	conn, _, err := c.dial(ctx, c.collectorTarget(), cedar.CmdQueryScheddAds, 0)
	if err != nil {
		return nil, fmt.Errorf("collector %s: %w", c.addr.HostPort(), err)
	}
	defer conn.Close()
	q := &classad.Ad{}
	q.SetString("MyType", "Query")
	q.SetString("TargetType", "Scheduler")
	q.Set("Requirements", classad.Bool(true))
	if projection != "" {
		q.SetString("Projection", projection)
	}
	conn.PutAd(q)
	if err := conn.EndMessage(); err != nil {
		return nil, err
	}
	var out []*classad.Ad
	budget := conn.NewAnswer(maxScheddAds)
	for {
		more, err := conn.GetInt()
		if err != nil {
			return nil, fmt.Errorf("collector %s: reading schedd ads: %w", c.addr.HostPort(), err)
		}
		if more == 0 {
			break
		}
		ad, err := conn.GetAdIn(budget)
		if err != nil {
			return nil, fmt.Errorf("collector %s: reading schedd ads: %w", c.addr.HostPort(), err)
		}
		out = append(out, ad)
	}
	return out, conn.FinishMessage()
}

// versionNumber picks 23.9.6 out of "$CondorVersion: 23.9.6 2026-07-12 … $".
func versionNumber(v string) string {
	f := strings.Fields(strings.Trim(v, "$"))
	if len(f) >= 2 {
		return f[1]
	}
	return v
}

// scheddConn connects to the schedd for cmd. A remembered schedd address
// that no longer answers (the schedd restarted) is looked up again.
func (c *Client) scheddConn(ctx context.Context, cmd int) (*cedar.Conn, *cedar.Session, error) {
	s, err := c.locate(ctx)
	if err != nil {
		return nil, nil, err
	}
	conn, sess, err := c.dial(ctx, s.Addr, cmd, 0)
	if err != nil && stale(err) && ctx.Err() == nil {
		// the address may be stale: remembered from an earlier command, or
		// the schedd restarted since (its shared-port endpoint is new); ask
		// the collector once more
		from := "schedd address"
		if c.remembered(s) {
			from = "remembered schedd address"
		}
		c.debugf("%s %s failed (%v); asking the collector", from, s.Addr.Raw, err)
		c.mu.Lock()
		if c.schedd == s {
			c.schedd, c.fromCache = nil, false
		}
		c.mu.Unlock()
		fresh, lerr := c.locate(ctx)
		if lerr != nil {
			return nil, nil, lerr
		}
		if fresh.Addr.Raw != s.Addr.Raw {
			s = fresh
			conn, sess, err = c.dial(ctx, s.Addr, cmd, 0)
		}
	}
	if err != nil {
		return nil, sess, fmt.Errorf("schedd %s: %w", s.Name, err)
	}
	return conn, sess, nil
}

// remembered reports whether s came from the job list rather than the collector.
func (c *Client) remembered(s *scheddInfo) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fromCache && c.schedd == s
}

// stale: the address led nowhere or to a daemon that is not the schedd
// (not an authentication or authorization refusal).
func stale(err error) bool {
	var ae *cedar.AuthError
	return !errors.As(err, &ae)
}

// dialing is a connection to the schedd being made in the background.
type dialing struct {
	done chan struct{}
	conn *cedar.Conn
	err  error
	at   time.Time // when the handshake finished
}

// payloadWait is how long a schedd waits for a command's payload after the
// handshake (STANDARD_COMMAND_PAYLOAD_TIMEOUT, 300 s), less a margin: an
// older connection made beforehand is replaced.
const payloadWait = 240 * time.Second

// dialAhead starts connecting for cmd; the handshake is bounded by the
// client's timeout, the connection then lives within ctx.
func (c *Client) dialAhead(ctx context.Context, cmd int) *dialing {
	d := &dialing{done: make(chan struct{})}
	go func() {
		defer close(d.done)
		hctx, cancel := c.ctxTimeout(ctx)
		defer cancel()
		d.conn, _, d.err = c.scheddConn(hctx, cmd)
		if d.conn != nil {
			d.conn.SetContext(ctx)
		}
		d.at = time.Now()
	}()
	return d
}

// take waits for the connection and hands it over: nil if there is none,
// it failed (err says why) or it is too old to use.
func (d *dialing) take() *cedar.Conn {
	if d == nil {
		return nil
	}
	<-d.done
	conn := d.conn
	d.conn = nil
	if conn != nil && time.Since(d.at) > payloadWait {
		conn.Close()
		d.err = fmt.Errorf("made %s ago: the schedd may have given up waiting", time.Since(d.at).Round(time.Second))
		return nil
	}
	return conn
}

// close closes the connection if nobody took it.
func (d *dialing) close() {
	if conn := d.take(); conn != nil {
		conn.Close()
	}
}

// scheddVersion is the schedd's HTCondor version when known (from the
// collector or the job list): the job ads follow its condor_submit.
func (c *Client) scheddVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schedd == nil {
		return ""
	}
	return c.schedd.Version
}

// KnownVersion implements ce.VersionCache: where the schedd is, so that
// the next command skips the collector ("" before it was located).
func (c *Client) KnownVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schedd == nil {
		return ""
	}
	return "schedd " + c.schedd.Version + " " + c.schedd.Name + " " + c.schedd.Addr.Raw
}

// SetVersion preloads a remembered schedd location (see Version).
func (c *Client) SetVersion(v string) {
	f := strings.SplitN(v, " ", 4)
	if len(f) != 4 || f[0] != "schedd" {
		return
	}
	s, err := cedar.ParseSinful(f[3])
	if err != nil {
		return
	}
	c.mu.Lock()
	if c.schedd == nil {
		c.schedd, c.fromCache = &scheddInfo{Version: f[1], Name: f[2], Addr: s}, true
	}
	c.mu.Unlock()
}
