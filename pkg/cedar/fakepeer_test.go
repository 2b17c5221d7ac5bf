package cedar

// Fault injection with a FAKE CEDAR peer: what a real schedd does not do on
// demand (hang mid-handshake, send garbage or oversized frames, decline
// authentication, corrupt an AES-GCM tag). The real handshake is tested against HTCondor in integration/.

import (
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/faultproxy"
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

// TestDaemonDecliningAuthenticationIsRefused: cesub asks Authentication
// REQUIRED, and a real daemon that cannot authenticate fails the
// negotiation. A HOSTILE peer (someone on the path: the negotiation is in
// clear) that answers otherwise and agrees to AES with its own ECDH key is
// refused at its answer: an authentication error naming it, nothing more
// sent (the caller would send its command next: a job, files, a proxy),
// no encryption keyed by it, the limits before authentication kept.
func TestDaemonDecliningAuthenticationIsRefused(t *testing.T) {
	for name, answer := range map[string]string{"NO": "NO", "NEVER": "NEVER", "no answer": ""} {
		t.Run(name, func(t *testing.T) {
			further := make(chan bool, 1)
			addr := fakePeer(t, hostileNoAuthPeer(answer, further))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.StartCommand(ctx, CmdQueryScheddAds, 0, nil, AuthConfig{Methods: []string{"SCITOKENS"}, Token: "x"})
			if err == nil { // what the caller does next: the command's payload
				secret := &classad.Ad{}
				secret.SetString("Proxy", "-----BEGIN CERTIFICATE-----")
				c.PutAd(secret)
				_ = c.EndMessage()
				_ = c.Flush()
			}
			encrypted, authed, lim := c.Encrypted(), c.authed, c.lim
			c.Close()
			t.Logf("cesub said: %v", err)
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Stage != "authentication" {
				t.Errorf("got %v, want an authentication error", err)
			}
			for _, want := range []string{addr + " declined authentication", "although cesub requires it",
				"refusing: a misconfigured daemon, or someone on the path"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q: %v", want, err)
				}
			}
			if sent, ok := <-further; !ok {
				t.Error("the fake did not get to answer the negotiation")
			} else if sent {
				t.Error("cesub sent more after the negotiation to a daemon that declined authentication")
			}
			if encrypted || authed || lim != PreAuthLimits() {
				t.Errorf("encrypted %v, authenticated %v, limits %+v: want none of the session", encrypted, authed, lim)
			}
		})
	}
}

// hostileNoAuthPeer answers the negotiation with Authentication = auth
// (none if empty), Encryption YES with AES and its own ECDH key, turns AES
// on with that key and says AUTHORIZED; it sends on further whether
// anything came from the client after that.
func hostileNoAuthPeer(auth string, further chan<- bool) func(nc net.Conn) {
	return func(nc net.Conn) {
		defer close(further)
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		c := NewConn(nc)
		req := fakeReadRequest(c)
		if req == nil {
			return
		}
		key, pub := fakeECDH(req)
		ad := &classad.Ad{}
		if auth != "" {
			ad.SetString("Authentication", auth)
		}
		ad.SetString("Encryption", "YES")
		ad.SetString("Integrity", "YES")
		ad.SetString("CryptoMethods", "AES")
		ad.SetString("ECDHPublicKey", pub)
		c.PutAd(ad)
		if c.EndMessage() != nil || c.Flush() != nil || c.EnableAES(key) != nil {
			return
		}
		post := &classad.Ad{}
		post.SetString("ReturnCode", "AUTHORIZED")
		c.PutAd(post)
		_ = c.EndMessage() // may fail: the client may have hung up already
		_ = c.Flush()
		n, _ := nc.Read(make([]byte, 1))
		further <- n > 0
	}
}

// TestFakeDaemonTamperedTag: with a FAKE daemon that authenticates as
// HTCondor's does (SCITOKENS through the TLS tunnel, ServeSSL) and answers
// Integrity = "NO", the session is still AES-GCM: the post-authentication
// answer with one bit of its tag flipped is refused; unflipped, it is taken.
func TestFakeDaemonTamperedTag(t *testing.T) {
	srvTLS, cliTLS := fakeDaemonTLS(t)
	for _, tamper := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := Dial(ctx, fakePeer(t, fakeAuthPeer(srvTLS, tamper)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sess, err := c.StartCommand(ctx, CmdDCSecQuery, CmdDCNopRead, nil, AuthConfig{Methods: []string{"SCITOKENS"}, Token: "x",
			TLSFor: func(string) *tls.Config { return cliTLS.Clone() }})
		switch {
		case tamper && (!isProtocol(err) || !strings.Contains(err.Error(), "AES-GCM authentication")):
			t.Errorf("a flipped tag: %v, want an AES-GCM authentication error", err)
		case !tamper && (err != nil || sess.Method != "SCITOKENS" || !c.authed):
			t.Errorf("the same daemon, no tag flipped: %v", err)
		}
	}
}

// fakeAuthPeer is a FAKE daemon's side of the handshake: it agrees to
// authenticate (SCITOKENS, TLS with srvTLS, any token taken) and to AES,
// answers Integrity = "NO", and sends AUTHORIZED with the tag's last bit
// flipped if tamper.
func fakeAuthPeer(srvTLS *tls.Config, tamper bool) func(nc net.Conn) {
	return func(nc net.Conn) {
		_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
		tc := &tamperConn{Conn: nc}
		c := NewConn(tc)
		req := fakeReadRequest(c)
		if req == nil {
			return
		}
		key, pub := fakeECDH(req)
		ad := &classad.Ad{}
		for k, v := range map[string]string{"Authentication": "YES", "AuthMethodsList": "SCITOKENS", "Encryption": "YES",
			"Integrity": "NO", "CryptoMethods": "AES", "ECDHPublicKey": pub} {
			ad.SetString(k, v)
		}
		c.PutAd(ad)
		if c.EndMessage() != nil {
			return
		}
		if _, err := c.GetInt(); err != nil || c.FinishMessage() != nil { // the client's methods
			return
		}
		c.PutInt(MethodSciTokens)
		if c.EndMessage() != nil {
			return
		}
		if _, err := c.ServeSSL(context.Background(), srvTLS, true); err != nil {
			return
		}
		c.PutInt(0) // no legacy key: ECDH
		if c.EndMessage() != nil || c.Flush() != nil || c.EnableAES(key) != nil {
			return
		}
		post := &classad.Ad{}
		post.SetString("ReturnCode", "AUTHORIZED")
		c.PutAd(post)
		_ = c.EndMessage()
		tc.flipLast = tamper
		_ = c.Flush()
		_, _ = io.Copy(io.Discard, nc) // until the client hangs up
	}
}

// fakeDaemonTLS is a fake daemon's TLS (a certificate for 127.0.0.1 from a
// CA made here) and a client's that trusts that CA.
func fakeDaemonTLS(t *testing.T) (srv, cli *tls.Config) {
	t.Helper()
	ca, err := faultproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// fakeReadRequest reads the client's DC_AUTHENTICATE and negotiation ad.
func fakeReadRequest(c *Conn) *classad.Ad {
	if _, err := c.GetInt(); err != nil {
		return nil
	}
	req, err := c.GetAd()
	if err != nil || c.FinishMessage() != nil {
		return nil
	}
	return req
}

// fakeECDH derives a daemon's session key from the client's ECDH key in
// req, as a schedd does; it returns the key and the public key to send.
func fakeECDH(req *classad.Ad) ([]byte, string) {
	clientPub, _ := req.Str("ECDHPublicKey")
	raw, _ := base64.StdEncoding.DecodeString(clientPub)
	pub, err := ecdh.P256().NewPublicKey(raw)
	if err != nil {
		return nil, ""
	}
	priv, _ := ecdh.P256().GenerateKey(rand.Reader)
	secret, _ := priv.ECDH(pub)
	key, _ := hkdf.Key(sha256.New, secret, []byte("htcondor"), "keygen", 32)
	return key, base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes())
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

// TestFakeDaemonCertificateRefused: a FAKE daemon whose certificate the
// client does not accept (an unknown CA, another host's name) fails the
// authentication, and the error keeps the TLS failure for errors.As: what
// to tell the user is about the certificate, not the credential.
func TestFakeDaemonCertificateRefused(t *testing.T) {
	srvTLS, cliTLS := fakeDaemonTLS(t)
	for _, tc := range []struct {
		name  string
		cfg   *tls.Config
		check func(error) bool
	}{
		{"unknown CA", &tls.Config{ServerName: "127.0.0.1"}, func(err error) bool {
			var ua x509.UnknownAuthorityError
			return errors.As(err, &ua)
		}},
		{"another host's name", &tls.Config{RootCAs: cliTLS.RootCAs, ServerName: "ce.example.org"}, func(err error) bool {
			var he x509.HostnameError
			return errors.As(err, &he)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := Dial(ctx, fakePeer(t, fakeAuthPeer(srvTLS, false)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.StartCommand(ctx, CmdDCSecQuery, CmdDCNopRead, nil, AuthConfig{Methods: []string{"SCITOKENS"}, Token: "x",
				TLSFor: func(string) *tls.Config { return tc.cfg }})
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Stage != "authentication" || !tc.check(err) {
				t.Errorf("got %v, want an authentication error keeping the certificate's", err)
			}
		})
	}
}
