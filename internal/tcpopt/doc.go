// Package tcpopt owns TCP socket tuning shared by cesub's HTTP client and
// the test issuer: immediate acknowledgements (TCP_QUICKACK) so that peers
// writing without TCP_NODELAY (A-REX) do not stall on delayed ACKs.
package tcpopt

import "net"

// Listener accepts connections wrapped with QuickAck.
type Listener struct{ net.Listener }

// Accept implements net.Listener.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return QuickAck(c), nil
}
