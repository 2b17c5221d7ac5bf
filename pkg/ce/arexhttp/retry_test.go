package arexhttp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestNotSent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true},
		{fmt.Errorf("post: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true},
		{errors.New("remote error: tls: handshake failure"), true},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, false}, // the request may have arrived
		{errors.New("unexpected EOF"), false},
	} {
		if got := NotSent(tc.err); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
}
