package cedar

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// The SSL (and SCITOKENS) method tunnels TLS through CEDAR messages in strict
// lock-step (condor_auth_ssl.cpp): each message is {int status; int length;
// length bytes}, statuses below. The Go TLS engine runs in a goroutine over
// an in-memory connection; the driver waits until it is either finished or
// blocked waiting for input before each round, exactly where OpenSSL with
// memory BIOs would return WANT_READ.
const (
	sslOK        = 0
	sslSending   = 1
	sslReceiving = 2
	sslQuitting  = 3
	sslHolding   = 4
	sslError     = -1
	sslMaxBuf    = 1048576
	sslKeyLen    = 256
)

// pipe is the in-memory connection under the TLS engine.
type pipe struct {
	mu      sync.Mutex
	cond    *sync.Cond
	in, out bytes.Buffer
	waiting bool // the engine is blocked in Read with no input
	done    bool // the current operation has returned
	opErr   error
	closed  bool
}

func newPipe() *pipe { p := &pipe{}; p.cond = sync.NewCond(&p.mu); return p }

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.in.Len() == 0 && !p.closed {
		p.waiting = true
		p.cond.Broadcast()
		p.cond.Wait()
	}
	p.waiting = false
	if p.in.Len() == 0 {
		return 0, io.EOF
	}
	return p.in.Read(b)
}

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, net.ErrClosed
	}
	return p.out.Write(b)
}

func (p *pipe) Close() error {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	return nil
}

func (p *pipe) LocalAddr() net.Addr                { return pipeAddr{} }
func (p *pipe) RemoteAddr() net.Addr               { return pipeAddr{} }
func (p *pipe) SetDeadline(time.Time) error        { return nil }
func (p *pipe) SetReadDeadline(t time.Time) error  { return nil }
func (p *pipe) SetWriteDeadline(t time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "cedar" }
func (pipeAddr) String() string  { return "cedar-tunnel" }

// start runs op on the engine's goroutine.
func (p *pipe) start(op func() error) {
	p.mu.Lock()
	p.done, p.opErr, p.waiting = false, nil, false
	p.mu.Unlock()
	go func() {
		err := op()
		p.mu.Lock()
		p.done, p.opErr = true, err
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
}

// quiet waits until the operation has returned or needs input, and says
// which status the client reports: HOLDING (done), RECEIVING (needs input)
// or QUITTING (failed).
func (p *pipe) quiet() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.done && !p.waiting {
		p.cond.Wait()
	}
	switch {
	case p.done && p.opErr != nil:
		return sslQuitting, p.opErr
	case p.done:
		return sslHolding, nil
	}
	return sslReceiving, nil
}

// feed hands bytes from the server to the engine.
func (p *pipe) feed(b []byte) {
	if len(b) == 0 {
		return
	}
	p.mu.Lock()
	p.in.Write(b)
	p.waiting = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// unread is how many bytes from the server the engine has not read.
func (p *pipe) unread() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.in.Len()
}

// drain takes what the engine wrote.
func (p *pipe) drain() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := append([]byte(nil), p.out.Bytes()...)
	p.out.Reset()
	return b
}

func (c *Conn) sendSSL(status int, data []byte) error {
	c.PutInt(int64(status))
	c.PutInt(int64(len(data)))
	c.PutBytes(data)
	return c.EndMessage()
}

func (c *Conn) recvSSL() (int, []byte, error) {
	defer c.allowMessage(preAuthTunnelMessage)()
	st, err := c.GetInt32()
	if err != nil {
		return 0, nil, err
	}
	n, err := c.GetInt32()
	if err != nil {
		return 0, nil, err
	}
	if n < 0 || n > sslMaxBuf {
		return 0, nil, protoErr("SSL tunnel message of %d bytes", n)
	}
	b, err := c.GetBytes(n)
	if err != nil {
		return 0, nil, err
	}
	return st, b, c.FinishMessage()
}

// lockstep runs one phase: op on the engine, messages alternating; sendFirst
// says whether odd rounds send (handshake, token) or receive (session key).
func (c *Conn) lockstep(p *pipe, sendFirst bool, op func() error) (server int, err error) {
	p.start(op)
	client, server := sslReceiving, sslReceiving
	var opErr error
	for round := 1; round <= 256; round++ {
		client, opErr = p.quiet()
		send := round%2 == 1
		if !sendFirst {
			send = !send
		}
		if send {
			if err := c.sendSSL(client, p.drain()); err != nil {
				return server, err
			}
		} else {
			st, data, err := c.recvSSL()
			if err != nil {
				return server, err
			}
			server = st
			if p.unread()+len(data) > sslMaxBuf {
				// TLS data the engine does not read (sent after its operation
				// ended) would pile up round after round
				return server, c.limitErr(&classad.LimitError{What: "bytes of TLS data not yet read in the tunnel", Limit: sslMaxBuf})
			}
			p.feed(data)
		}
		if opErr != nil {
			return server, opErr
		}
		if server == sslError || server == sslQuitting {
			return server, nil
		}
		if client == sslHolding && server == sslHolding {
			return server, nil
		}
	}
	return server, protoErr("SSL tunnel did not settle in 256 rounds")
}

// errRejected is the server's refusal (QUITTING) in a tunnel phase.
var errRejected = errors.New("the CE ended the exchange")

// sslAuthenticate runs the SSL method; with a token, the SCITOKENS variant
// that sends the token through the tunnel after the TLS handshake.
func (c *Conn) sslAuthenticate(ctx context.Context, cfg *tls.Config, tok string) error {
	// status exchange: the server first
	st, err := c.GetInt32()
	if err != nil {
		return err
	}
	if err := c.FinishMessage(); err != nil {
		return err
	}
	c.PutInt(sslOK)
	if err := c.EndMessage(); err != nil {
		return err
	}
	if st != sslOK {
		return fmt.Errorf("the server could not set up TLS (status %d; its host certificate or key may be unusable)", st)
	}
	p := newPipe()
	defer p.Close()
	tc := tls.Client(p, cfg)
	server, err := c.lockstep(p, true, func() error { return tc.HandshakeContext(ctx) })
	if err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	if server != sslHolding {
		return fmt.Errorf("TLS handshake: %w (status %d)", errRejected, server)
	}
	// the legacy session key the server writes (unused with ECDH keys)
	key := make([]byte, sslKeyLen)
	server, err = c.lockstep(p, false, func() error { _, err := io.ReadFull(tc, key); return err })
	if err != nil {
		return fmt.Errorf("TLS session key: %w", err)
	}
	if server != sslHolding {
		return fmt.Errorf("TLS session key: %w (status %d)", errRejected, server)
	}
	if tok == "" {
		return nil
	}
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(tok)))
	msg = append(msg, tok...)
	server, err = c.lockstep(p, true, func() error { _, err := tc.Write(msg); return err })
	if err != nil {
		return fmt.Errorf("sending the token: %w", err)
	}
	if server != sslHolding {
		return fmt.Errorf("the CE rejected the token: %w", errRejected)
	}
	return nil
}

// ServeSSL is the daemon's side of the SSL method, the mirror of
// sslAuthenticate: cesub is a client, and this serves fake daemons in
// tests. With withToken (SCITOKENS) it reads the client's token through the
// tunnel and returns it; it does not judge it.
func (c *Conn) ServeSSL(ctx context.Context, cfg *tls.Config, withToken bool) (string, error) {
	c.PutInt(sslOK)
	if err := c.EndMessage(); err != nil {
		return "", err
	}
	if _, err := c.GetInt32(); err != nil { // the client's status
		return "", err
	}
	if err := c.FinishMessage(); err != nil {
		return "", err
	}
	p := newPipe()
	defer p.Close()
	tc := tls.Server(p, cfg)
	if _, err := c.lockstep(p, false, func() error { return tc.HandshakeContext(ctx) }); err != nil {
		return "", fmt.Errorf("TLS handshake: %w", err)
	}
	key := make([]byte, sslKeyLen) // the legacy session key
	if _, err := c.lockstep(p, true, func() error { _, err := tc.Write(key); return err }); err != nil || !withToken {
		return "", err
	}
	var tok []byte
	_, err := c.lockstep(p, false, func() error {
		var n [4]byte
		if _, err := io.ReadFull(tc, n[:]); err != nil {
			return err
		}
		tok = make([]byte, min(binary.BigEndian.Uint32(n[:]), sslMaxBuf))
		_, err := io.ReadFull(tc, tok)
		return err
	})
	return string(tok), err
}
