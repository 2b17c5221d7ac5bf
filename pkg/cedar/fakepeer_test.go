package cedar

// Fault injection with a FAKE CEDAR peer: what a real schedd does not do on
// demand (hang mid-handshake, send garbage or oversized frames, corrupt an
// AES-GCM tag). The real handshake is tested against HTCondor in integration/.

import (
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// fakePeer accepts one connection and runs behave on it.
func fakePeer(t *testing.T, behave func(nc net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		behave(nc)
	}()
	return ln.Addr().String()
}

func startCommand(t *testing.T, addr string, timeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.StartCommand(ctx, CmdDCSecQuery, CmdDCNopRead, nil, AuthConfig{Methods: []string{"SCITOKENS"}, Token: "x",
		TLSFor: func(string) *tls.Config { return &tls.Config{} }})
	return err
}

func TestFakePeerFaults(t *testing.T) {
	readRequest := func(nc net.Conn) *Conn {
		c := NewConn(nc)
		if _, err := c.GetInt(); err != nil {
			return nil
		}
		if _, err := c.GetAd(); err != nil {
			return nil
		}
		_ = c.FinishMessage()
		return c
	}
	cases := []struct {
		name   string
		behave func(nc net.Conn)
		check  func(error) bool
		want   string
	}{
		{"hangs mid-handshake", func(nc net.Conn) { readRequest(nc); time.Sleep(3 * time.Second) },
			func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }, "no answer in time"},
		{"garbage instead of CEDAR", func(nc net.Conn) {
			readRequest(nc)
			_, _ = nc.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		}, isProtocol, "bad packet header"},
		{"oversized frame", func(nc net.Conn) {
			readRequest(nc)
			_, _ = nc.Write([]byte{1, 0x7f, 0xff, 0xff, 0xff})
		}, isProtocol, "limit 1048576"},
		{"hangs up", func(nc net.Conn) { readRequest(nc) },
			func(err error) bool { return err != nil }, "closed the connection"},
		{"refuses the negotiation", func(nc net.Conn) {
			c := readRequest(nc)
			ad := &classad.Ad{}
			ad.SetString("ReturnCode", "DENIED")
			c.PutAd(ad)
			_ = c.EndMessage()
			_ = c.Flush()
		}, func(err error) bool {
			var ae *AuthError
			return errors.As(err, &ae) && ae.Stage == "authorization"
		}, "DENIED"},
		{"AES-GCM tag does not verify", badTagPeer, isProtocol, "AES-GCM authentication"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakePeer(t, tc.behave)
			start := time.Now()
			err := startCommand(t, addr, 500*time.Millisecond)
			if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("took %s", time.Since(start))
			}
		})
	}
}

func isProtocol(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// badTagPeer negotiates encryption without authentication, derives the
// session key like a schedd, and sends the post-authentication ad with the
// last bit of its tag flipped.
func badTagPeer(nc net.Conn) { noAuthPeer(nc, true) }

// noAuthPeer is badTagPeer, the tag flipped only with tamper.
func noAuthPeer(nc net.Conn, tamper bool) {
	tc := &tamperConn{Conn: nc}
	c := NewConn(tc)
	if _, err := c.GetInt(); err != nil {
		return
	}
	req, err := c.GetAd()
	if err != nil {
		return
	}
	_ = c.FinishMessage()
	clientPub, _ := req.Str("ECDHPublicKey")
	raw, _ := base64.StdEncoding.DecodeString(clientPub)
	pub, err := ecdh.P256().NewPublicKey(raw)
	if err != nil {
		return
	}
	priv, _ := ecdh.P256().GenerateKey(rand.Reader)
	ad := &classad.Ad{}
	ad.SetString("Authentication", "NO")
	ad.SetString("Encryption", "YES")
	ad.SetString("CryptoMethods", "AES")
	ad.SetString("ECDHPublicKey", base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes()))
	c.PutAd(ad)
	_ = c.EndMessage()
	_ = c.Flush()
	secret, _ := priv.ECDH(pub)
	key, _ := hkdf.Key(sha256.New, secret, []byte("htcondor"), "keygen", 32)
	_ = c.EnableAES(key)
	post := &classad.Ad{}
	post.SetString("ReturnCode", "AUTHORIZED")
	c.PutAd(post)
	_ = c.EndMessage()
	tc.flipLast = tamper
	_ = c.Flush()
	time.Sleep(100 * time.Millisecond)
}

// tamperConn flips the last byte of a write once armed.
type tamperConn struct {
	net.Conn
	flipLast bool
}

func (t *tamperConn) Write(p []byte) (int, error) {
	if t.flipLast && len(p) > 0 {
		q := append([]byte(nil), p...)
		q[len(q)-1] ^= 1
		return t.Conn.Write(q)
	}
	return t.Conn.Write(p)
}
