// Package cedar speaks HTCondor's CEDAR wire protocol as a client: framing
// (packets of one end flag and a 4-byte length, messages ended by the last
// packet), the integer/string/bytes codec, ClassAds in their wire form, the
// SHA-256 transcript digests, AES-256-GCM packets (the first one in each
// direction carrying the IV and, as additional data, both transcript
// digests), shared-port connects, and the DC_AUTHENTICATE security
// handshake with ECDH key exchange and the SCITOKENS and SSL methods (a
// daemon that does not authenticate is refused, never talked to under a
// key no one authenticated). What a peer's messages may cost is bounded as
// they arrive, with smaller budgets before the peer has authenticated
// (limits.go). It uses the Go standard library only; HTCondor's source is
// its specification.
package cedar

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

const (
	headerSize = 5
	// MaxPacket is the largest packet accepted (HTCondor rejects bigger ones too).
	MaxPacket = 1024 * 1024
	// sendPacket is the largest payload this side puts in one packet.
	sendPacket = 64 * 1024
	// digestLimit: transcript digests stop counting after this many bytes.
	digestLimit = 1024 * 1024
	ivSize      = 16
	tagSize     = 16
)

// ErrClosed: the peer closed the connection.
var ErrClosed = errors.New("the peer closed the connection")

// ProtocolError is a malformed or unexpected frame from the peer.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "CEDAR protocol error: " + e.Msg }

func protoErr(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// Conn is one CEDAR connection (HTCondor's ReliSock) used by one goroutine.
type Conn struct {
	nc   net.Conn
	w    *bufio.Writer // packets are batched; flushed before every read and on Flush/Close
	r    *bufio.Reader // a run of pipelined answers is read in few system calls
	peer string

	out []byte // the message being built (plain text)

	in       []byte // received, not yet consumed bytes of the current message
	inEOM    bool   // the current message's last packet has been read
	inAny    bool   // at least one packet of the current message has been read
	msgBytes int    // bytes of the current message read so far

	lim    Limits // what the peer's messages may cost (limits.go)
	authed bool   // the peer has authenticated: lim are the larger ones

	// transcript digests (HTCondor's header MDs)
	sendMD, recvMD         hash.Hash
	sent, recvd            int64
	finishedSend, finRecv  bool
	finalSend, finalRecv   []byte
	finalSendOK, finRecvOK bool

	// AES-256-GCM once the session key is set (one AEAD per direction, so
	// that a pipelined reader and writer never share one)
	gcm, gcmOpen   cipher.AEAD
	encIV, decIV   [ivSize]byte
	ctrEnc, ctrDec uint32

	ctx  context.Context
	stop func() bool
	io   *idleIO // what the buffers read from and write to: nc with the idle limit

	pipelined bool // a reader goroutine runs beside the writer: reads do not flush

	sealed []byte // the last encrypted packet's body (reused: bufio copies it)
	rbody  []byte // the last received packet's body (reused: its plain text is copied to in)
}

// NewConn wraps a connected stream (for tests and custom dialers).
func NewConn(nc net.Conn) *Conn {
	io := &idleIO{nc: nc, ctx: context.Background()}
	return &Conn{nc: nc, io: io, w: bufio.NewWriterSize(io, 64*1024), r: bufio.NewReaderSize(io, 64*1024), peer: nc.RemoteAddr().String(), sendMD: sha256.New(), recvMD: sha256.New(), ctx: context.Background(),
		lim: PreAuthLimits()}
}

// Dial connects to addr (host:port) with the context's deadline.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c := NewConn(nc)
	c.peer = addr
	c.SetContext(ctx)
	return c, nil
}

// SetContext makes ctx govern the connection's I/O: its deadline applies,
// and cancelling it interrupts a blocked read or write.
func (c *Conn) SetContext(ctx context.Context) {
	c.ctx = ctx
	idle := c.io.limit()
	c.io.set(ctx, idle)
	switch dl, ok := ctx.Deadline(); {
	case idle > 0: // each read and write sets its own deadline
	case ok:
		_ = c.nc.SetDeadline(dl)
	default:
		_ = c.nc.SetDeadline(time.Time{})
	}
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	if ctx.Done() != nil {
		c.stop = context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	}
}

// SetIdleTimeout limits how long one read or write may wait for the peer
// (0: no limit but the context's). Transfers of any size then go on as
// long as data moves, as HTCondor's own per-operation timeouts do; the
// context's deadline, if it has one, still applies.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	c.io.set(c.ctx, d)
	if d <= 0 {
		c.SetContext(c.ctx)
	}
}

// SetReadBatching makes every read from the network wait first, at most d
// (0: no wait), so that answers that come in a stream (one per proc of a
// transaction, one per job of a spool) are read many at a time rather than
// one system call and one wake-up each. It suits a Pipeline whose answers
// matter only at the end or on an error: each answer is seen at most d
// later. The wait adapts to the stream: it starts at d and halves (down to
// d/16) while reads bring batchTarget bytes or more, and doubles back while
// they bring less, so that a fast stream's last answer is not held up for
// long and a slow one (a CE under load) costs few reads. A wait ends early
// when the connection's context is done.
func (c *Conn) SetReadBatching(d time.Duration) {
	c.io.mu.Lock()
	c.io.batch, c.io.wait = d, d
	c.io.mu.Unlock()
}

// batchTarget is what a batched read should bring: a few answers of a
// spool, some tens of a transaction's procs.
const batchTarget = 1024

// Close sends what is buffered and closes the connection.
func (c *Conn) Close() error {
	_ = c.Flush()
	if c.stop != nil {
		c.stop()
	}
	return c.nc.Close()
}

// Flush sends the buffered packets.
func (c *Conn) Flush() error {
	if c.w.Buffered() == 0 {
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return c.ioErr("send to", err)
	}
	return nil
}

// Peer is the address dialled.
func (c *Conn) Peer() string { return c.peer }

// Encrypted reports whether AES-GCM is on.
func (c *Conn) Encrypted() bool { return c.gcm != nil }

// ioErr adds the context's reason to an I/O error.
func (c *Conn) ioErr(op string, err error) error {
	if cerr := c.ctx.Err(); errors.Is(cerr, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: no answer in time: %w", op, c.peer, cerr)
	} else if cerr != nil {
		return fmt.Errorf("%s %s: %w", op, c.peer, cerr)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if idle := c.io.limit(); idle > 0 {
			return fmt.Errorf("%s %s: nothing moved for %s (the time limit): %w", op, c.peer, idle, context.DeadlineExceeded)
		}
		return fmt.Errorf("%s %s: no answer in time: %w", op, c.peer, context.DeadlineExceeded)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s %s: %w", op, c.peer, ErrClosed)
	}
	return fmt.Errorf("%s %s: %w", op, c.peer, err)
}

// ResetDigests restarts the transcript digests (after a shared-port connect).
func (c *Conn) ResetDigests() {
	c.sendMD, c.recvMD = sha256.New(), sha256.New()
	c.finishedSend, c.finRecv = false, false
	c.finalSendOK, c.finRecvOK = false, false
	c.finalSend, c.finalRecv = nil, nil
}

// EnableAES turns on AES-256-GCM for both directions with a 32-byte key.
func (c *Conn) EnableAES(key []byte) error {
	if len(key) != 32 {
		return fmt.Errorf("AES-GCM key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, ivSize)
	if err != nil {
		return err
	}
	gcmOpen, err := cipher.NewGCMWithNonceSize(block, ivSize)
	if err != nil {
		return err
	}
	if _, err := rand.Read(c.encIV[:]); err != nil {
		return err
	}
	c.gcm, c.gcmOpen, c.ctrEnc, c.ctrDec = gcm, gcmOpen, 0, 0
	return nil
}

// digests returns the final transcript digests, computing them once: what
// this side sent and what it received before encryption (zeros if nothing).
func (c *Conn) digests() (sent, recvd []byte) {
	if !c.finalSendOK {
		c.finalSend = c.sendMD.Sum(nil)
		c.finalSendOK = true
	}
	if !c.finRecvOK {
		c.finalRecv = c.recvMD.Sum(nil)
		c.finRecvOK = true
	}
	return c.finalSend, c.finalRecv
}

func packetIV(base [ivSize]byte, ctr uint32) []byte {
	iv := base
	binary.BigEndian.PutUint32(iv[:4], binary.BigEndian.Uint32(base[:4])+ctr)
	return iv[:]
}

// writePacket sends one packet of the current message.
func (c *Conn) writePacket(payload []byte, last bool) error {
	var hdr [headerSize]byte
	if last {
		hdr[0] = 1
	}
	body := payload
	if c.gcm != nil {
		if c.ctrEnc == 0xffffffff {
			return errors.New("CEDAR: too many packets on one connection")
		}
		first := c.ctrEnc == 0
		n := len(payload) + tagSize
		if first {
			n += ivSize
		}
		binary.BigEndian.PutUint32(hdr[1:], uint32(n))
		aad := hdr[:]
		if !c.finishedSend {
			c.finishedSend = true
			s, r := c.digests()
			aad = append(append(append([]byte{}, s...), r...), hdr[:]...)
		}
		iv := packetIV(c.encIV, c.ctrEnc)
		body = c.sealed[:0]
		if first {
			body = append(body, iv...)
		}
		body = c.gcm.Seal(body, iv, payload, aad)
		c.sealed = body
		c.ctrEnc++
	} else {
		binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
		if !c.finishedSend && c.sent < digestLimit {
			c.sendMD.Write(hdr[:])
			c.sendMD.Write(payload)
		}
	}
	if _, err := c.w.Write(hdr[:]); err != nil {
		return c.ioErr("send to", err)
	}
	if _, err := c.w.Write(body); err != nil {
		return c.ioErr("send to", err)
	}
	c.sent += int64(headerSize + len(body))
	return nil
}

// readPacket reads one packet and appends its plain text to c.in.
func (c *Conn) readPacket() error {
	if !c.pipelined {
		if err := c.Flush(); err != nil {
			return err
		}
	}
	var hdr [headerSize]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return c.ioErr("read from", err)
	}
	end := hdr[0]
	n := int(int32(binary.BigEndian.Uint32(hdr[1:])))
	if end > 10 {
		return protoErr("bad packet header % x from %s (not a CEDAR peer?)", hdr, c.peer)
	}
	if n <= 0 || n > MaxPacket {
		return protoErr("packet of %d bytes from %s (limit %d)", n, c.peer, MaxPacket)
	}
	if cap(c.rbody) < n {
		c.rbody = make([]byte, n)
	}
	body := c.rbody[:n]
	if _, err := io.ReadFull(c.r, body); err != nil {
		return c.ioErr("read from", err)
	}
	if c.gcm != nil {
		first := c.ctrDec == 0
		if first {
			if n < ivSize+tagSize {
				return protoErr("encrypted packet of %d bytes is too short", n)
			}
			copy(c.decIV[:], body[:ivSize])
			body = body[ivSize:]
		} else if n < tagSize {
			return protoErr("encrypted packet of %d bytes is too short", n)
		}
		aad := hdr[:]
		if !c.finRecv {
			c.finRecv = true
			s, r := c.digests()
			aad = append(append(append([]byte{}, r...), s...), hdr[:]...)
		}
		plain, err := c.gcmOpen.Open(body[:0], packetIV(c.decIV, c.ctrDec), body, aad)
		if err != nil {
			return protoErr("AES-GCM authentication of a packet from %s failed (tampered, or the session keys differ)", c.peer)
		}
		c.ctrDec++
		body = plain
	} else if !c.finRecv && c.recvd < digestLimit {
		c.recvMD.Write(hdr[:])
		c.recvMD.Write(body)
	}
	c.recvd += int64(headerSize + n)
	if c.msgBytes+len(body) > c.lim.Message { // the plain text: what decoding holds
		return c.limitErr(&classad.LimitError{What: "bytes in one message", Limit: c.lim.Message})
	}
	c.msgBytes += len(body)
	c.in = append(c.in, body...)
	c.inAny = true
	if end != 0 {
		c.inEOM = true
	}
	return nil
}

// need makes n bytes of the current message available.
func (c *Conn) need(n int) error {
	for len(c.in) < n {
		if c.inEOM {
			return protoErr("message from %s ended early (wanted %d more bytes)", c.peer, n-len(c.in))
		}
		if err := c.readPacket(); err != nil {
			return err
		}
	}
	return nil
}

// EndMessage sends the message built so far (nothing if it is empty).
func (c *Conn) EndMessage() error {
	if len(c.out) == 0 {
		return nil
	}
	out := c.out
	c.out = c.out[:0]
	for len(out) > sendPacket {
		if err := c.writePacket(out[:sendPacket], false); err != nil {
			return err
		}
		out = out[sendPacket:]
	}
	return c.writePacket(out, true)
}

// SendPart sends what was built so far of a long message, but for its
// last bytes, as packets of a message that goes on: a message of any
// length can be sent without holding it whole. EndMessage ends it.
func (c *Conn) SendPart() error {
	out := c.out
	for len(out) > sendPacket {
		if err := c.writePacket(out[:sendPacket], false); err != nil {
			return err
		}
		out = out[sendPacket:]
	}
	c.out = append(c.out[:0], out...)
	return nil
}

// FinishMessage ends the received message: it reads up to its last packet
// and fails if unread data remains (the peer sent more than expected).
func (c *Conn) FinishMessage() error {
	if !c.inAny {
		// an empty message is never sent; nothing to finish
		return nil
	}
	for !c.inEOM {
		if err := c.readPacket(); err != nil {
			return err
		}
	}
	left := len(c.in)
	c.in, c.inEOM, c.inAny, c.msgBytes = c.in[:0], false, false, 0
	if left > 0 {
		return protoErr("%d unread bytes at the end of a message from %s", left, c.peer)
	}
	return nil
}

// SkipMessage discards the rest of the received message.
func (c *Conn) SkipMessage() error {
	for c.inAny && !c.inEOM {
		if err := c.readPacket(); err != nil {
			return err
		}
	}
	c.in, c.inEOM, c.inAny, c.msgBytes = c.in[:0], false, false, 0
	return nil
}

// PeekEOM reports whether the received message has no data left (reading
// its next packet if needed).
func (c *Conn) PeekEOM() (bool, error) {
	for len(c.in) == 0 && !(c.inAny && c.inEOM) {
		if err := c.readPacket(); err != nil {
			return false, err
		}
	}
	return len(c.in) == 0, nil
}

// Pipeline runs write and read at the same time on an established (after
// the handshake) connection: write sends a run of requests without waiting,
// read consumes the answers as they come, so a long exchange costs one
// round trip instead of one per request. On the first error the connection
// is closed, which stops the other side; the first error is returned.
func (c *Conn) Pipeline(write, read func() error) error {
	c.pipelined = true
	defer func() { c.pipelined = false }()
	errc := make(chan error, 1)
	go func() {
		err := read()
		if err != nil {
			c.nc.Close()
		}
		errc <- err
	}()
	werr := write()
	if werr == nil {
		werr = c.Flush()
	}
	if werr != nil {
		c.nc.Close()
	}
	rerr := <-errc
	if werr != nil && rerr != nil {
		var pe *ProtocolError
		if errors.As(rerr, &pe) {
			return rerr // the peer's complaint explains the broken write
		}
	}
	if werr != nil {
		return werr
	}
	return rerr
}

// idleIO is the connection as the buffers see it. With an idle limit, every
// read and write first moves its own deadline to now+limit (never past the
// context's deadline); without one, the deadlines SetContext set apply.
type idleIO struct {
	nc net.Conn

	mu    sync.Mutex
	ctx   context.Context
	idle  time.Duration
	batch time.Duration // the longest wait before a read (SetReadBatching)
	wait  time.Duration // the wait before the next read, adapted to the stream
}

func (o *idleIO) set(ctx context.Context, idle time.Duration) {
	o.mu.Lock()
	o.ctx, o.idle = ctx, idle
	o.mu.Unlock()
}

func (o *idleIO) limit() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.idle
}

// arm sets the deadline of one read or write. A cancellation that lands
// while it does so is seen by the second check (the context's AfterFunc
// may have set its past deadline before this one replaced it).
func (o *idleIO) arm(set func(time.Time) error) error {
	o.mu.Lock()
	ctx, idle := o.ctx, o.idle
	o.mu.Unlock()
	if idle <= 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dl := time.Now().Add(idle)
	if cdl, ok := ctx.Deadline(); ok && cdl.Before(dl) {
		dl = cdl
	}
	_ = set(dl)
	if err := ctx.Err(); err != nil {
		_ = set(time.Unix(1, 0))
		return err
	}
	return nil
}

func (o *idleIO) Read(p []byte) (int, error) {
	o.mu.Lock()
	ctx, wait := o.ctx, o.wait
	o.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if err := o.arm(o.nc.SetReadDeadline); err != nil {
		return 0, err
	}
	n, err := o.nc.Read(p)
	if wait > 0 {
		o.adapt(n)
	}
	return n, err
}

// adapt sets the wait before the next read from what this one brought
// (see SetReadBatching).
func (o *idleIO) adapt(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.batch <= 0 {
		return
	}
	if n >= batchTarget {
		o.wait = max(o.wait/2, o.batch/16)
	} else {
		o.wait = min(o.wait*2, o.batch)
	}
}

func (o *idleIO) Write(p []byte) (int, error) {
	if err := o.arm(o.nc.SetWriteDeadline); err != nil {
		return 0, err
	}
	return o.nc.Write(p)
}
