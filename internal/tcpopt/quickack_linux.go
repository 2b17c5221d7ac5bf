//go:build linux

package tcpopt

import (
	"net"
	"syscall"
)

// quickAckConn asks the kernel to acknowledge every segment at once
// (TCP_QUICKACK, which Linux clears again after a while, so it is renewed
// before each read). A-REX writes a response's headers and body separately
// without TCP_NODELAY: with the client's delayed ACK the body waits ~40 ms
// for the acknowledgement of the headers. Acknowledging at once removes
// that stall from every request.
type quickAckConn struct {
	net.Conn
	raw syscall.RawConn
}

// QuickAck wraps a TCP connection so that it acknowledges at once (other
// connections are returned as they are).
func QuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{Conn: c, raw: raw}
	q.quickAck()
	return q
}

func (q *quickAckConn) quickAck() {
	_ = q.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}

func (q *quickAckConn) Read(b []byte) (int, error) {
	n, err := q.Conn.Read(b)
	q.quickAck()
	return n, err
}
