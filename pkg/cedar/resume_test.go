package cedar

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// A resumed session sends only what HTCondor's resume projection holds
// (no ECDH key, no token), reads the daemon's answer, then both sides
// speak AES-GCM with the session's key and fresh IVs. Against the real
// schedd this is tested in integration/ (TestHTCondorSessionResumed).
func TestResumeCommand(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	sess := &Session{ID: "ce:123:456:7", User: "pilot@users.htcondor.org", Method: "SCITOKENS", Expires: time.Now().Add(time.Minute), key: key}
	got := make(chan *classad.Ad, 1)
	peer := func(answer string) func(nc net.Conn) {
		return func(nc net.Conn) {
			c := NewConn(nc)
			if cmd, err := c.GetInt(); err != nil || cmd != CmdDCAuthenticate {
				return
			}
			ad, err := c.GetAd()
			if err != nil {
				return
			}
			_ = c.FinishMessage()
			got <- ad
			resp := &classad.Ad{}
			resp.SetString("ReturnCode", answer)
			resp.SetString("Nonce", base64.StdEncoding.EncodeToString(make([]byte, 33)))
			c.PutAd(resp)
			if c.EndMessage() != nil || c.Flush() != nil || answer != "AUTHORIZED" {
				return
			}
			if c.EnableAES(key) != nil {
				return
			}
			v, err := c.GetInt()
			if err != nil {
				return
			}
			_ = c.FinishMessage()
			c.PutInt(v + 1)
			_ = c.EndMessage()
			_ = c.Flush()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	c, err := Dial(ctx, fakePeer(t, peer("AUTHORIZED")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.ResumeCommand(ctx, CmdQmgmtWriteCmd, nil, sess); err != nil {
		t.Fatalf("resume: %v", err)
	}
	ad := <-got
	for name, want := range map[string]string{"UseSession": `"YES"`, "Sid": `"ce:123:456:7"`, "Command": "1112", "ResumeResponse": "true", "CryptoMethods": `"AES"`} {
		if e, ok := ad.Get(name); !ok || classad.Unparse(e) != want {
			t.Errorf("%s = %v, want %s", name, e, want)
		}
	}
	if n, _ := ad.Str("Nonce"); len(n) != 44 { // 33 random bytes, base64
		t.Errorf("nonce %q", n)
	}
	for _, name := range []string{"ECDHPublicKey", "AuthMethods", "NewSession"} {
		if ad.Has(name) {
			t.Errorf("the resume request carries %s", name)
		}
	}
	if strings.Contains(ad.Long(), "00010203") {
		t.Error("the key leaked into the request")
	}
	c.PutInt(41)
	if err := c.EndMessage(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetInt(); err != nil || v != 42 {
		t.Fatalf("encrypted exchange after resuming: %d %v", v, err)
	}
	if !c.authed || c.lim != PostAuthLimits() {
		t.Errorf("a session that authenticated resumes with the limits before authentication: %+v", c.lim)
	}

	// a daemon that forgot the session (restarted): ErrSessionRejected, so
	// that the caller authenticates again
	c2, err := Dial(ctx, fakePeer(t, peer("SID_NOT_FOUND")))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.ResumeCommand(ctx, CmdQmgmtWriteCmd, nil, sess); !errors.Is(err, ErrSessionRejected) {
		t.Fatalf("SID_NOT_FOUND: %v", err)
	}
	<-got

	// an expired session is not even tried
	old := *sess
	old.Expires = time.Now().Add(-time.Second)
	if old.Resumable() || !errors.Is(c2.ResumeCommand(ctx, CmdQmgmtWriteCmd, nil, &old), ErrSessionRejected) {
		t.Fatal("an expired session was used")
	}
}

// TestUnauthenticatedSessionIsNotResumed: a session whose handshake did not
// authenticate the daemon (no Method) is neither resumable nor resumed, so
// no caller caches it (pkg/ce/htcondor keeps only Resumable sessions) and
// none talks to a daemon under it without authentication. The connection
// would fail the test if anything were sent on it.
func TestUnauthenticatedSessionIsNotResumed(t *testing.T) {
	sess := &Session{ID: "ce:123:456:7", Expires: time.Now().Add(time.Minute), key: make([]byte, 32)}
	if sess.Resumable() {
		t.Error("a session without authentication is resumable")
	}
	sent := make(chan bool, 1)
	addr := fakePeer(t, func(nc net.Conn) {
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := nc.Read(make([]byte, 1))
		sent <- n > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	err = c.ResumeCommand(ctx, CmdQmgmtWriteCmd, nil, sess)
	c.Close()
	if !errors.Is(err, ErrSessionRejected) {
		t.Errorf("resuming a session without authentication: %v, want ErrSessionRejected", err)
	}
	if <-sent {
		t.Error("cesub sent a resume request for a session without authentication")
	}
}
