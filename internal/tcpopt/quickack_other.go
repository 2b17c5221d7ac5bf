//go:build !linux

package tcpopt

import "net"

// QuickAck is a no-op where TCP_QUICKACK does not exist.
func QuickAck(c net.Conn) net.Conn { return c }
