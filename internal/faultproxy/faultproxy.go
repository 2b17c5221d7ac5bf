// Package faultproxy is a FAULT-INJECTING proxy for tests: it sits between
// cesub and a real CE on loopback and breaks connections on purpose, in the
// ways a real CE cannot be made to on demand — refused connections, resets
// before a request or after it was sent, replies cut short or held back, a
// port that accepts TCP and never speaks TLS. For HTTPS CEs (A-REX) it ends
// TLS itself (with a certificate of its own CA, which the test trusts) and
// forwards each HTTP request to the CE over its own TLS connection, so a
// fault can hit one chosen request: the submission, a status query, a
// download. Everything not chosen passes through unchanged.
package faultproxy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does wrong.
type Fault string

// The faults.
const (
	None              Fault = "none"
	Refused           Fault = "connection refused"   // nothing listens on the port
	ResetOnAccept     Fault = "reset before request" // TCP accepted, then reset before a byte is read
	NoTLS             Fault = "TCP but no TLS"       // TCP accepted, the TLS handshake never answered
	ResetAfterRequest Fault = "reset after request"  // the request reaches the CE; the reply is replaced by a reset
	TruncateReply     Fault = "truncated reply"      // the reply's head and half its body, then a reset
	DelayReply        Fault = "reply after timeout"  // the reply held back for Delay
	LargeReply        Fault = "oversized reply"      // a 200 whose body never ends (Delay caps it)
)

// CA is a certificate authority made for one test run.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
}

// NewCA makes a CA (ECDSA P-256, one day).
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cesub fault proxy test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// ServerCert issues a server certificate for the given names and IPs, valid
// from notBefore to notAfter (zero: an hour ago to a day ahead).
func (ca *CA) ServerCert(names []string, ips []net.IP, notBefore, notAfter time.Time) (tls.Certificate, error) {
	if notBefore.IsZero() {
		notBefore, notAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names, IPAddresses: ips,
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Proxy is one fault-injecting proxy in front of an HTTPS CE.
type Proxy struct {
	// Upstream is the CE's host:port; UpstreamTLS how to reach it.
	Upstream    string
	UpstreamTLS *tls.Config
	// Cert is what the proxy presents to the client.
	Cert tls.Certificate
	// Fault, and which request it hits (nil: the first one); Once limits
	// it to one hit (later requests pass).
	Fault Fault
	Match func(*http.Request) bool
	Once  bool
	// Delay is how long DelayReply holds a reply (and how long LargeReply
	// keeps sending).
	Delay time.Duration

	ln    net.Listener
	addr  string
	srv   *http.Server
	tr    *http.Transport
	hits  atomic.Int32
	mu    sync.Mutex
	conns map[net.Conn]bool
	done  chan struct{}
}

// Start listens on 127.0.0.1 (a free port) and serves until Close.
func (p *Proxy) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p.addr = ln.Addr().String()
	p.done = make(chan struct{})
	p.conns = map[net.Conn]bool{}
	if p.Fault == Refused {
		return ln.Close() // the port stays free: connecting is refused
	}
	p.ln = &faultListener{Listener: ln, p: p}
	p.tr = &http.Transport{TLSClientConfig: p.UpstreamTLS, ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 16,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: time.Minute,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{p.Cert}, MinVersion: tls.VersionTLS12},
		ConnState: func(c net.Conn, st http.ConnState) {
			p.mu.Lock()
			defer p.mu.Unlock()
			if st == http.StateNew {
				p.conns[c] = true
			} else if st == http.StateClosed || st == http.StateHijacked {
				delete(p.conns, c)
			}
		}}
	go func() { _ = p.srv.ServeTLS(p.ln, "", "") }()
	return nil
}

// Addr is host:port of the proxy.
func (p *Proxy) Addr() string { return p.addr }

// Close stops the proxy and drops its connections.
func (p *Proxy) Close() {
	select {
	case <-p.done:
		return
	default:
		close(p.done)
	}
	if p.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = p.srv.Shutdown(ctx)
		cancel()
		_ = p.srv.Close()
	}
	if p.ln != nil {
		_ = p.ln.Close()
	}
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	if p.tr != nil {
		p.tr.CloseIdleConnections()
	}
}

// faultListener applies the faults that strike before any HTTP to the
// connections it accepts (each, or the first only with Once): reset at once,
// or held without an answer. The others go on to TLS and HTTP.
type faultListener struct {
	net.Listener
	p *Proxy
}

func (l *faultListener) Accept() (net.Conn, error) {
	p := l.p
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if p.Fault != ResetOnAccept && p.Fault != NoTLS || p.Once && !p.hits.CompareAndSwap(0, 1) {
			return c, nil
		}
		if !p.Once {
			p.hits.Add(1)
		}
		p.mu.Lock()
		p.conns[c] = true
		p.mu.Unlock()
		if p.Fault == ResetOnAccept {
			reset(c)
			continue
		}
		go func() { _, _ = io.Copy(io.Discard, c) }() // reads the ClientHello, never answers
	}
}

// reset closes c with a TCP RST (no FIN): the peer reads "connection reset".
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *Proxy) strikes(r *http.Request) bool {
	if p.Fault == None {
		return false
	}
	if p.Match != nil && !p.Match(r) {
		return false
	}
	if p.Once {
		return p.hits.CompareAndSwap(0, 1)
	}
	p.hits.Add(1)
	return true
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	fault := p.strikes(r)
	if fault && p.Fault == LargeReply {
		p.endless(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, "https://"+p.Upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.ContentLength = int64(len(body))
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, "fault proxy: upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if !fault {
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	reply, _ := io.ReadAll(resp.Body) // the CE has done its work
	switch p.Fault {
	case ResetAfterRequest:
		hijackReset(w)
	case TruncateReply:
		copyHeader(w.Header(), resp.Header)
		w.Header().Set("Content-Length", fmt.Sprint(len(reply)+1))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(reply[:len(reply)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		hijackReset(w)
	case DelayReply:
		select {
		case <-time.After(p.Delay):
		case <-r.Context().Done():
			return
		case <-p.done:
			return
		}
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(reply)
	}
}

// endless answers 200 with a body that does not end (for Delay, or until
// the client hangs up): a CE or a man in the middle flooding the client.
func (p *Proxy) endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	chunk := bytes.Repeat([]byte(`{"id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","state":"RUNNING"},`), 1000)
	_, _ = w.Write([]byte(`{"job":[`))
	stop := time.After(p.Delay)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-stop:
			return
		case <-p.done:
			return
		default:
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

func hijackReset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*tls.Conn); ok {
		if raw, ok := tc.NetConn().(*net.TCPConn); ok {
			_ = raw.SetLinger(0)
			_ = raw.Close()
			return
		}
	}
	reset(c)
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		if k == "Content-Length" || k == "Connection" || k == "Transfer-Encoding" {
			continue
		}
		dst[k] = append([]string(nil), v...)
	}
	if cl := src.Get("Content-Length"); cl != "" {
		dst.Set("Content-Length", cl)
	}
}
