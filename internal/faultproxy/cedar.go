package faultproxy

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// CEDARProxy is a FAULT-INJECTING TCP proxy in front of an HTCondor daemon
// (a shared port). It cannot read what CEDAR encrypts, but packet headers
// are in the clear, so it counts the messages each side sends on each
// connection. With Fault None it only records those counts (a calibration
// run); otherwise it strikes once, on connection Conn (1-based, in the
// order they were accepted; 0: the first connection to get there) when the
// daemon is about to send its message number Msg:
//
//	ResetAfterRequest  the message is dropped and both sides reset (the
//	                   daemon did its work, the client never hears of it)
//	TruncateReply      half the message, then a reset
//	DelayReply         the message held back for Delay
type CEDARProxy struct {
	Upstream string
	Fault    Fault
	Conn     int
	Msg      int
	Delay    time.Duration

	ln     net.Listener
	addr   string
	mu     sync.Mutex
	counts []int // server messages per connection, in accept order
	conns  []net.Conn
	n      atomic.Int32
	hits   atomic.Int32
	done   chan struct{}
}

// Start listens on 127.0.0.1 (a free port).
func (p *CEDARProxy) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p.ln, p.addr, p.done = ln, ln.Addr().String(), make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			idx := int(p.n.Add(1))
			p.mu.Lock()
			p.counts = append(p.counts, 0)
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			go p.serve(c, idx)
		}
	}()
	return nil
}

// Addr is host:port of the proxy.
func (p *CEDARProxy) Addr() string { return p.addr }

// Counts is the number of messages the daemon sent on each connection so far.
func (p *CEDARProxy) Counts() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.counts...)
}

// Hits is how many times the fault struck.
func (p *CEDARProxy) Hits() int { return int(p.hits.Load()) }

// Close stops the proxy and drops its connections.
func (p *CEDARProxy) Close() {
	select {
	case <-p.done:
		return
	default:
		close(p.done)
	}
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

func (p *CEDARProxy) serve(c net.Conn, idx int) {
	up, err := net.DialTimeout("tcp", p.Upstream, 10*time.Second)
	if err != nil {
		reset(c)
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, up)
	p.mu.Unlock()
	go func() { // the client's side passes unchanged
		_, _ = io.Copy(up, c)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	defer c.Close()
	defer up.Close()
	msg := 1
	var hdr [5]byte
	for {
		// one message: packets until one whose header marks the end
		var buf []byte
		for {
			if _, err := io.ReadFull(up, hdr[:]); err != nil {
				if len(buf) > 0 {
					_, _ = c.Write(buf)
				}
				return
			}
			n := int(int32(binary.BigEndian.Uint32(hdr[1:])))
			if n < 0 || n > 64<<20 {
				_, _ = c.Write(append(buf, hdr[:]...))
				_, _ = io.Copy(c, up)
				return
			}
			buf = append(buf, hdr[:]...)
			body := make([]byte, n)
			if _, err := io.ReadFull(up, body); err != nil {
				_, _ = c.Write(append(buf, body...))
				return
			}
			buf = append(buf, body...)
			if hdr[0] != 0 {
				break
			}
		}
		p.mu.Lock()
		p.counts[idx-1] = msg
		p.mu.Unlock()
		if p.Fault != None && (p.Conn == 0 || idx == p.Conn) && msg == p.Msg && p.hits.CompareAndSwap(0, 1) {
			switch p.Fault {
			case ResetAfterRequest:
				reset(c)
				reset(up)
				return
			case TruncateReply:
				_, _ = c.Write(buf[:len(buf)/2])
				reset(c)
				reset(up)
				return
			case DelayReply:
				select {
				case <-time.After(p.Delay):
				case <-p.done:
					return
				}
			}
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
		msg++
	}
}
