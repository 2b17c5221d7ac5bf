package cedar

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// bufConn is a net.Conn that records what is written and replays a fixed
// input (for golden bytes and the fuzz target).
type bufConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func newBufConn(in []byte) *bufConn                { return &bufConn{in: bytes.NewReader(in)} }
func (b *bufConn) Read(p []byte) (int, error)      { return b.in.Read(p) }
func (b *bufConn) Write(p []byte) (int, error)     { return b.out.Write(p) }
func (b *bufConn) Close() error                    { return nil }
func (b *bufConn) LocalAddr() net.Addr             { return pipeAddr{} }
func (b *bufConn) RemoteAddr() net.Addr            { return pipeAddr{} }
func (b *bufConn) SetDeadline(time.Time) error     { return nil }
func (b *bufConn) SetReadDeadline(time.Time) error { return nil }
func (b *bufConn) SetWriteDeadline(time.Time) error {
	return nil
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "|", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden bytes: framing, the integer and string codec, a ClassAd.
func TestGoldenFraming(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(c *Conn)
		want  string
	}{
		{"int and string", func(c *Conn) { c.PutInt(1); c.PutString("ab") },
			"01 0000000b | 0000000000000001 | 616200"},
		{"negative int", func(c *Conn) { c.PutInt(-1) }, "01 00000008 | ffffffffffffffff"},
		{"shared-port connect", func(c *Conn) { _ = c.SharedPortConnect("schedd_1_a", "cesub"); c.out = c.out[:0] },
			"01 00000029 | 000000000000004b | 7363686564645f315f6100 | 636573756200 | ffffffffffffffff | 0000000000000000"},
		{"class ad", func(c *Conn) {
			ad := &classad.Ad{}
			ad.SetInt("A", 1)
			ad.SetString("B", `x"y\z`)
			c.PutAd(ad)
		}, "01 0000001d | 0000000000000002 | 41203d203100 | 42203d2022785c22795c7a2200 | 00 | 00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc := newBufConn(nil)
			c := NewConn(bc)
			tc.build(c)
			if err := c.EndMessage(); err != nil {
				t.Fatal(err)
			}
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			if got, want := bc.out.Bytes(), unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("\n got % x\nwant % x", got, want)
			}
		})
	}
}

// A message longer than one packet goes as several, the last flagged.
func TestLongMessageSplitsIntoPackets(t *testing.T) {
	bc := newBufConn(nil)
	c := NewConn(bc)
	c.PutBytes(bytes.Repeat([]byte{7}, sendPacket+10))
	if err := c.EndMessage(); err != nil {
		t.Fatal(err)
	}
	_ = c.Flush()
	w := bc.out.Bytes()
	if w[0] != 0 || !bytes.Equal(w[1:5], []byte{0, 1, 0, 0}) {
		t.Fatalf("first packet header % x", w[:5])
	}
	second := w[5+sendPacket:]
	if second[0] != 1 || !bytes.Equal(second[1:5], []byte{0, 0, 0, 10}) || len(second) != 15 {
		t.Fatalf("second packet header % x (len %d)", second[:5], len(second))
	}
	// and it reads back as one message, an int straddling the packets
	r := NewConn(newBufConn(w))
	r.authenticated() // past the limit of a message before authentication
	b, err := r.GetBytes(sendPacket + 10)
	if err != nil || len(b) != sendPacket+10 || r.FinishMessage() != nil {
		t.Fatalf("read back: %v %d", err, len(b))
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"oversized frame", "01 00200000 00", "packet of 2097152 bytes"},
		{"bad end flag", "ff 00000001 00", "bad packet header"},
		{"zero length", "01 00000000", "packet of 0 bytes"},
		{"truncated", "01 00000010 0000", "closed the connection"},
		{"message ends early", "01 00000004 00000000", "ended early"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConn(newBufConn(unhex(t, tc.in)))
			_, err := c.GetInt()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// unread data at the end of a message is an error
	c := NewConn(newBufConn(unhex(t, "01 00000010 0000000000000001 0000000000000002")))
	if _, err := c.GetInt(); err != nil {
		t.Fatal(err)
	}
	if err := c.FinishMessage(); err == nil || !strings.Contains(err.Error(), "8 unread bytes") {
		t.Fatalf("FinishMessage: %v", err)
	}
}

// pair connects two Conns over an in-memory pipe.
func pair() (*Conn, *Conn, *recorder) {
	a, b := net.Pipe()
	rec := &recorder{Conn: a}
	return NewConn(rec), NewConn(b), rec
}

// recorder keeps the bytes one side wrote.
type recorder struct {
	net.Conn
	wrote bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) { r.wrote.Write(p); return r.Conn.Write(p) }

// AES-GCM: the first packet in each direction carries the IV and, as
// additional data, SHA-256 of what each side sent and received in clear
// (the receiver in mirror order); later packets only their header.
func TestAESGCMPacketsAndAAD(t *testing.T) {
	client, server, rec := pair()
	key := bytes.Repeat([]byte{0x42}, 32)
	clearDone := make(chan struct{})
	go func() {
		defer close(clearDone)
		// clear exchange: the server reads one message and answers one
		v, _ := server.GetInt()
		_ = server.FinishMessage()
		server.PutInt(v + 1)
		_ = server.EndMessage()
		_ = server.Flush()
	}()
	client.PutInt(41)
	if err := client.EndMessage(); err != nil {
		t.Fatal(err)
	}
	if v, err := client.GetInt(); err != nil || v != 42 || client.FinishMessage() != nil {
		t.Fatalf("clear exchange: %v %d", err, v)
	}
	<-clearDone // one goroutine uses a Conn at a time
	clearSent := append([]byte(nil), rec.wrote.Bytes()...)
	clearRecv := unhex(t, "01 00000008 000000000000002a")
	if err := client.EnableAES(key); err != nil {
		t.Fatal(err)
	}
	if err := server.EnableAES(key); err != nil {
		t.Fatal(err)
	}
	client.encIV = [16]byte{0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	done := make(chan error, 1)
	go func() {
		s, err := server.GetString()
		if err == nil && s != "secret" {
			err = errors.New("server read " + s)
		}
		if err == nil {
			err = server.FinishMessage()
		}
		if err == nil {
			s, err = server.GetString()
			if err == nil && s != "second" {
				err = errors.New("server read " + s)
			}
			_ = server.FinishMessage()
		}
		if err == nil {
			server.PutString("reply")
			err = server.EndMessage()
			_ = server.Flush()
		}
		done <- err
	}()
	rec.wrote.Reset()
	client.PutString("secret")
	if err := client.EndMessage(); err != nil {
		t.Fatal(err)
	}
	client.PutString("second")
	if err := client.EndMessage(); err != nil {
		t.Fatal(err)
	}
	if s, err := client.GetString(); err != nil || s != "reply" {
		t.Fatalf("encrypted reply: %q %v", s, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	// check the first encrypted packet against an independent computation
	wire := rec.wrote.Bytes()
	plain := append([]byte{0, 0, 0, 0, 0, 0, 0, 7}, "secret\x00"...)
	hdr := []byte{1, 0, 0, 0, byte(16 + len(plain) + 16)}
	if !bytes.Equal(wire[:5], hdr) {
		t.Fatalf("first encrypted header % x, want % x", wire[:5], hdr)
	}
	s1, s2 := sha256.Sum256(clearSent), sha256.Sum256(clearRecv)
	aad := append(append(append([]byte{}, s1[:]...), s2[:]...), hdr...)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCMWithNonceSize(block, 16)
	want := append(append([]byte{}, client.encIV[:]...), gcm.Seal(nil, client.encIV[:], plain, aad)...)
	if got := wire[5 : 5+len(want)]; !bytes.Equal(got, want) {
		t.Fatalf("first packet body differs from AES-GCM(IV, AAD = sent||received digests||header)")
	}
	// the second packet: no IV, counter 1 in the IV's first word, AAD = header only
	second := wire[5+len(want):]
	plain2 := append([]byte{0, 0, 0, 0, 0, 0, 0, 7}, "second\x00"...)
	hdr2 := []byte{1, 0, 0, 0, byte(len(plain2) + 16)}
	iv2 := client.encIV
	iv2[3] = 10
	if want2 := append(append([]byte{}, hdr2...), gcm.Seal(nil, iv2[:], plain2, hdr2)...); !bytes.Equal(second[:len(want2)], want2) {
		t.Fatalf("second packet: got % x\nwant % x", second[:len(want2)], want2)
	}
}

// A packet whose tag does not verify is refused.
func TestAESGCMTamperedPacket(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	w := NewConn(newBufConn(nil))
	_ = w.EnableAES(key)
	w.PutInt(5)
	_ = w.EndMessage()
	_ = w.Flush()
	wire := w.nc.(*bufConn).out.Bytes()
	for _, flip := range []int{5, 30, len(wire) - 1, 0} { // IV, ciphertext, tag, header end flag (in the AAD)
		bad := append([]byte(nil), wire...)
		bad[flip] ^= 0x01
		r := NewConn(newBufConn(bad))
		_ = r.EnableAES(key)
		_, err := r.GetInt()
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("flipped byte %d: got %v, want a protocol error", flip, err)
		}
	}
	r := NewConn(newBufConn(wire))
	_ = r.EnableAES(key)
	if v, err := r.GetInt(); err != nil || v != 5 {
		t.Fatalf("untampered: %d %v", v, err)
	}
}

// Pipeline overlaps a writer and a reader on one connection.
func TestPipeline(t *testing.T) {
	client, server, _ := pair()
	go func() {
		for {
			v, err := server.GetInt()
			if err != nil {
				return
			}
			_ = server.FinishMessage()
			server.PutInt(v * 2)
			_ = server.EndMessage()
			_ = server.Flush()
		}
	}()
	const n = 500
	var sum int64
	err := client.Pipeline(func() error {
		for i := int64(1); i <= n; i++ {
			client.PutInt(i)
			if err := client.EndMessage(); err != nil {
				return err
			}
		}
		return nil
	}, func() error {
		for i := 0; i < n; i++ {
			v, err := client.GetInt()
			if err != nil {
				return err
			}
			sum += v
			if err := client.FinishMessage(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || sum != n*(n+1) {
		t.Fatalf("pipeline: %v, sum %d", err, sum)
	}
	client.Close()
}

func TestSinful(t *testing.T) {
	s, err := ParseSinful("<127.0.0.1:9619?addrs=127.0.0.1-9619+[::1]-9619&alias=ce.example.org&noUDP&sock=schedd_1_a>")
	if err != nil || s.Address() != "127.0.0.1:9619" || s.Alias != "ce.example.org" || s.Sock != "schedd_1_a" ||
		len(s.Addrs) != 2 || s.Addrs[1] != "[::1]:9619" {
		t.Fatalf("%+v %v", s, err)
	}
	for _, bad := range []string{"127.0.0.1:9619", "<nohost>", "<h:1?%zz>"} {
		if _, err := ParseSinful(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// the context bounds a blocked read
func TestContextDeadline(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := NewConn(a)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c.SetContext(ctx)
	start := time.Now()
	_, err := c.GetInt()
	if err == nil || time.Since(start) > 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v after %s", err, time.Since(start))
	}
	_ = io.EOF
}

// tcpPair is a connected loopback TCP pair: a Conn and the raw peer.
func tcpPair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	var c *Conn
	p := tcpPeer(t, func(addr string) (net.Conn, error) {
		var err error
		c, err = Dial(context.Background(), addr)
		if err != nil {
			return nil, err
		}
		return c.nc, nil
	})
	t.Cleanup(func() { c.Close() })
	return c, p
}

// tcpPeer listens on loopback, connects with dial and returns the accepted
// peer; both ends are closed when the test ends.
func tcpPeer(t *testing.T, dial func(addr string) (net.Conn, error)) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan net.Conn, 1)
	go func() {
		p, _ := ln.Accept()
		got <- p
	}()
	nc, err := dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := <-got
	t.Cleanup(func() { nc.Close(); p.Close() })
	return p
}

// With an idle limit, a transfer lasts as long as data moves; a peer that
// stops reading or answering is given up on after the limit.
func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	t.Run("slow but steady", func(t *testing.T) {
		const idle = 3 * idle // a loaded machine may hold the reader back a few hundred ms
		c, p := tcpPair(t)
		c.SetIdleTimeout(idle)
		// small socket buffers, so that the writer waits for the reader
		_ = c.nc.(*net.TCPConn).SetWriteBuffer(32 << 10)
		_ = p.(*net.TCPConn).SetReadBuffer(32 << 10)
		go func() { // reads 32 KiB every 40 ms: 2 MiB take over 2.5 s, beyond twice the limit
			buf := make([]byte, 32<<10)
			for {
				if _, err := io.ReadFull(p, buf); err != nil {
					return
				}
				time.Sleep(40 * time.Millisecond)
			}
		}()
		chunk := bytes.Repeat([]byte{'x'}, 1<<20)
		t0 := time.Now()
		for i := 0; i < 2; i++ {
			c.PutBytes(chunk)
			if err := c.EndMessage(); err != nil {
				t.Fatalf("after %s: %v", time.Since(t0), err)
			}
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d < 2*idle {
			t.Fatalf("the peer read 2 MiB in %s: the test does not exceed the limit", d)
		}
	})
	t.Run("peer silent", func(t *testing.T) {
		c, _ := tcpPair(t)
		c.SetIdleTimeout(idle)
		t0 := time.Now()
		_, err := c.GetInt()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "nothing moved for 300ms") {
			t.Fatalf("want a timeout naming the limit, got %v", err)
		}
		if d := time.Since(t0); d < idle || d > 10*idle {
			t.Fatalf("gave up after %s, limit %s", d, idle)
		}
	})
	t.Run("cancel interrupts", func(t *testing.T) {
		c, _ := tcpPair(t)
		ctx, cancel := context.WithCancel(context.Background())
		c.SetContext(ctx)
		c.SetIdleTimeout(time.Minute)
		time.AfterFunc(100*time.Millisecond, cancel)
		t0 := time.Now()
		if _, err := c.GetInt(); !errors.Is(err, context.Canceled) {
			t.Fatalf("want cancellation, got %v", err)
		}
		if d := time.Since(t0); d > 5*time.Second {
			t.Fatalf("cancellation took %s", d)
		}
	})
	t.Run("without a limit the context's deadline holds", func(t *testing.T) {
		c, _ := tcpPair(t)
		ctx, cancel := context.WithTimeout(context.Background(), idle)
		defer cancel()
		c.SetContext(ctx)
		if _, err := c.GetInt(); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer in time") {
			t.Fatalf("want the context's deadline, got %v", err)
		}
	})
}

// countReads counts the reads that reach the network.
type countReads struct {
	net.Conn
	n atomic.Int64
}

func (c *countReads) Read(p []byte) (int, error) { c.n.Add(1); return c.Conn.Read(p) }

// With read batching, a stream of small answers is read many at a time:
// the reader waits before each read instead of waking for every answer,
// and still gets every answer, in order; a cancelled context ends a wait.
func TestReadBatching(t *testing.T) {
	var cr *countReads
	peer := NewConn(tcpPeer(t, func(addr string) (net.Conn, error) {
		raw, err := net.Dial("tcp", addr)
		cr = &countReads{Conn: raw}
		return raw, err
	}))
	c := NewConn(cr)

	const n, gap, batch = 200, 250 * time.Microsecond, 10 * time.Millisecond
	wrote := make(chan struct{})
	go func() { // one answer every 250 µs: at least 50 ms in all
		defer close(wrote)
		for i := 0; i < n; i++ {
			peer.PutInt(int64(i))
			if peer.EndMessage() != nil || peer.Flush() != nil {
				return
			}
			time.Sleep(gap)
		}
	}()
	c.SetReadBatching(batch)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		v, err := c.GetInt()
		if err != nil || v != int64(i) {
			t.Fatalf("answer %d: %d, %v", i, v, err)
		}
		if err := c.FinishMessage(); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(t0)
	<-wrote
	// one read per batch interval (and one more at each end) at most
	if max := int64(took/batch) + 3; cr.n.Load() > max {
		t.Fatalf("%d answers over %s took %d reads, want at most %d", n, took, cr.n.Load(), max)
	}

	ctx, cancel := context.WithCancel(context.Background())
	c.SetContext(ctx)
	c.SetReadBatching(time.Minute)
	time.AfterFunc(50*time.Millisecond, cancel)
	t0 = time.Now()
	if _, err := c.GetInt(); err == nil || time.Since(t0) > 5*time.Second {
		t.Fatalf("a cancelled wait: %v after %s", err, time.Since(t0))
	}
}

// SendPart sends a long message as it is built: the same packets as
// building it whole and sending it with EndMessage.
func TestSendPart(t *testing.T) {
	whole, parts := newBufConn(nil), newBufConn(nil)
	w, p := NewConn(whole), NewConn(parts)
	for i := 0; i < 3*sendPacket+5; i += 1000 {
		chunk := bytes.Repeat([]byte{byte(i)}, 1000)
		w.PutBytes(chunk)
		p.PutBytes(chunk)
		if err := p.SendPart(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.EndMessage(); err != nil {
		t.Fatal(err)
	}
	if err := p.EndMessage(); err != nil {
		t.Fatal(err)
	}
	_, _ = w.Flush(), p.Flush()
	if !bytes.Equal(whole.out.Bytes(), parts.out.Bytes()) {
		t.Fatalf("%d bytes sent in parts, %d whole, or they differ", parts.out.Len(), whole.out.Len())
	}
}
