package htcondor

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/faultproxy"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// hostileSize is what each hostile answer weighs: the 64 MiB answer cap
// of the last round did not bound memory.
const hostileSize = 60 << 20

// TestHostileAnswersBoundMemory runs the built binary's ping against a
// FAKE hostile collector on loopback that answers with one huge shape, and
// reads the child's peak RSS: each must stay under 150 MB and end in an
// error naming the CE and the limit. Before authentication (in clear:
// anyone on the path can send them) the shapes are the answer to the
// security negotiation; a collector that declines to authenticate, its
// list of 600k ads ready, is refused at its negotiation answer and never
// gets the query; after authentication (SCITOKENS through the TLS tunnel,
// a certificate of a CA made here) they are the collector's answer. The
// fakes send as they generate: a child's peak RSS counts its parent's at
// the fork, so the test process must stay small.
func TestHostileAnswersBoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and sends 60 MB answers")
	}
	bin := filepath.Join(t.TempDir(), "cesub")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cesub/cesub/cmd/cesub").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	caDir := t.TempDir()    // the fake daemon's CA, which cesub trusts (--ca-dir)
	var queried atomic.Bool // the declining collector got a query
	for _, tc := range []struct {
		name   string
		answer func(nc net.Conn, c *cedar.Conn, req *classad.Ad)
		want   []string // what the error says besides the CE (nil: the limit)
	}{
		{"pre-auth ad of 1M attributes", func(nc net.Conn, _ *cedar.Conn, _ *classad.Ad) {
			hostileAd(nc, 1_000_000, func(w io.Writer, i int) { fmt.Fprintf(w, "A%07d = {%s1}\x00", i, strings.Repeat("1,", 24)) })
		}, nil},
		{"pre-auth 60 MB list attribute", func(nc net.Conn, _ *cedar.Conn, _ *classad.Ad) {
			hostileAd(nc, 1, func(w io.Writer, _ int) { hostileValue(w, "L = {", "1,", "1}\x00") })
		}, nil},
		{"pre-auth 60 MB string", func(nc net.Conn, _ *cedar.Conn, _ *classad.Ad) {
			hostileAd(nc, 1, func(w io.Writer, _ int) { hostileValue(w, `S = "`, "xxxxxxxx", "\"\x00") })
		}, nil},
		{"600k ads ready, authentication declined", fakeSession(t, "", func(c *cedar.Conn) {
			queried.Store(true)
			fakeScheddList(c)
		}), []string{"declined authentication", "although cesub requires it", "presented no credential"}},
		{"post-auth query answer of 600k ads", fakeSession(t, caDir, fakeScheddList), nil},
		{"post-auth 60 MB list attribute", fakeSession(t, caDir, func(c *cedar.Conn) {
			fakeEncryptedAd(c, "L = {", "1,", "1}")
		}), nil},
		{"post-auth 60 MB string", fakeSession(t, caDir, func(c *cedar.Conn) {
			fakeEncryptedAd(c, `S = "`, "xxxxxxxx", `"`)
		}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeHostileCollector(t, tc.answer)
			out, rss := runPing(t, bin, addr, caDir)
			t.Logf("%s: peak RSS %d MB; cesub said: %s", tc.name, rss>>10, strings.TrimSpace(out))
			if rss > 150<<10 {
				t.Errorf("peak RSS %d MB, want at most 150 MB", rss>>10)
			}
			want := tc.want
			if want == nil {
				want = []string{"more than", "limit"}
			}
			for _, w := range append(want, addr) {
				if !strings.Contains(out, w) {
					t.Errorf("the error does not say %q:\n%s", w, out)
				}
			}
		})
	}
	if queried.Load() {
		t.Error("cesub sent its query to a collector that declined authentication")
	}
}

// runPing runs cesub ping against addr with a token minted here; it returns
// the output and the child's peak RSS in KiB.
func runPing(t *testing.T, bin, addr, caDir string) (string, int64) {
	t.Helper()
	tok := fakeToken(t, addr)
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "ping", "-C", "condor://"+addr, "--timeout", "120s", "--ca-dir", caDir)
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_CACHE_HOME=" + home, "XDG_RUNTIME_DIR=" + home,
		"CESUB_JOBLIST=" + filepath.Join(home, "jobs.db"), "BEARER_TOKEN=" + tok, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil {
		t.Fatalf("cesub did not run: %v", err)
	}
	return string(out), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

// fakeHostileCollector accepts connections on loopback, reads each one's
// security negotiation request and sends answer; it stops with the test.
func fakeHostileCollector(t *testing.T, answer func(nc net.Conn, c *cedar.Conn, req *classad.Ad)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				_ = nc.SetDeadline(time.Now().Add(5 * time.Minute))
				c := cedar.NewConn(nc)
				if _, err := c.GetInt(); err != nil {
					return
				}
				req, err := c.GetAd()
				if err != nil || c.FinishMessage() != nil {
					return
				}
				answer(nc, c, req)
			}()
		}
	}()
	return ln.Addr().String()
}

// hostileAd streams one clear message: an ad announcing n attributes,
// attr(w, i) writing each, then MyType and TargetType.
func hostileAd(nc net.Conn, n int, attr func(w io.Writer, i int)) {
	w := &hostilePackets{w: bufio.NewWriter(nc)}
	_, _ = w.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
	for i := 0; i < n && w.err == nil; i++ {
		attr(w, i)
	}
	_, _ = w.Write([]byte("\x00\x00"))
	w.end()
}

// hostileValue writes head, then hostileSize bytes of unit (whose length
// divides 4096), then tail.
func hostileValue(w io.Writer, head, unit, tail string) {
	_, _ = io.WriteString(w, head)
	chunk := []byte(strings.Repeat(unit, 4096/len(unit)))
	for n := 0; n < hostileSize; n += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
	_, _ = io.WriteString(w, tail)
}

// hostilePackets frames what is written as one CEDAR message in packets
// of 64 KiB, holding one packet at a time.
type hostilePackets struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (p *hostilePackets) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for len(p.buf) >= 64<<10 && p.err == nil {
		p.packet(p.buf[:64<<10], 0)
		p.buf = append(p.buf[:0], p.buf[64<<10:]...)
	}
	return len(b), p.err
}

func (p *hostilePackets) packet(b []byte, end byte) {
	hdr := binary.BigEndian.AppendUint32([]byte{end}, uint32(len(b)))
	if _, err := p.w.Write(append(hdr, b...)); err != nil {
		p.err = err
	}
}

func (p *hostilePackets) end() {
	p.packet(p.buf, 1)
	if p.err == nil {
		p.err = p.w.Flush()
	}
}

// fakeECDH answers the ECDH key of the client's request with its own: the
// session key and the public key to send, or nil.
func fakeECDH(req *classad.Ad) ([]byte, string) {
	clientKey, _ := req.Str("ECDHPublicKey")
	raw, err := base64.StdEncoding.DecodeString(clientKey)
	if err != nil {
		return nil, ""
	}
	clientPub, err := ecdh.P256().NewPublicKey(raw)
	if err != nil {
		return nil, ""
	}
	priv, _ := ecdh.P256().GenerateKey(rand.Reader)
	secret, err := priv.ECDH(clientPub)
	if err != nil {
		return nil, ""
	}
	key, _ := hkdf.Key(sha256.New, secret, []byte("htcondor"), "keygen", 32)
	return key, base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes())
}

// fakeSession is a FAKE collector's security session: with caDir, it
// authenticates as HTCondor's does (SCITOKENS: TLS in the tunnel with a
// certificate of a CA made here and written to caDir, any token taken);
// without, it declines to authenticate (Authentication NO), which cesub
// refuses: then the rest is what it would do next. Then it turns on AES-GCM with the
// ECDH key, answers AUTHORIZED, reads the query and sends what answer puts
// in its answer message, as answer builds it (SendPart).
func fakeSession(t *testing.T, caDir string, answer func(c *cedar.Conn)) func(net.Conn, *cedar.Conn, *classad.Ad) {
	var cfg *tls.Config
	if caDir != "" {
		cfg = fakeTLS(t, caDir)
	}
	return func(_ net.Conn, c *cedar.Conn, req *classad.Ad) {
		key, pub := fakeECDH(req)
		if key == nil {
			return
		}
		ad := &classad.Ad{}
		for k, v := range map[string]string{"Authentication": "NO", "Encryption": "YES", "CryptoMethods": "AES", "ECDHPublicKey": pub} {
			ad.SetString(k, v)
		}
		if cfg != nil {
			ad.SetString("Authentication", "YES")
			ad.SetString("AuthMethodsList", "SCITOKENS")
		}
		c.PutAd(ad)
		if c.EndMessage() != nil {
			return
		}
		if cfg != nil {
			if _, ok := fakeAuthenticate(c, cfg); !ok {
				return
			}
		}
		if c.EnableAES(key) != nil {
			return
		}
		post := &classad.Ad{}
		post.SetString("ReturnCode", "AUTHORIZED")
		c.PutAd(post)
		if c.EndMessage() != nil {
			return
		}
		if _, err := c.GetAd(); err != nil || c.FinishMessage() != nil { // the query
			return
		}
		answer(c)
		c.PutInt(0)
		_ = c.EndMessage()
		_ = c.Flush()
	}
}

// fakeAuthenticate is the daemon's side of the method handshake, the
// SCITOKENS method and the key exchange (no legacy key: ECDH); it
// returns the token the client presented.
func fakeAuthenticate(c *cedar.Conn, cfg *tls.Config) (string, bool) {
	if _, err := c.GetInt(); err != nil || c.FinishMessage() != nil { // the client's methods
		return "", false
	}
	c.PutInt(cedar.MethodSciTokens)
	if c.EndMessage() != nil {
		return "", false
	}
	tok, err := c.ServeSSL(context.Background(), cfg, true)
	if err != nil {
		return "", false
	}
	c.PutInt(0)
	return tok, c.EndMessage() == nil
}

// fakeToken is a token minted here for a CE at addr, with the scopes
// every command needs.
func fakeToken(t *testing.T, addr string) string {
	t.Helper()
	k, err := testissuer.GenerateKey("ec")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Mint(testissuer.Claims{Issuer: "https://iss.example", Subject: "u", Audience: []string{addr},
		Scope: "compute.read compute.create compute.modify compute.cancel", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fakeTLS is the fake daemon's TLS: a certificate for 127.0.0.1 from a CA
// made here, written to caDir.
func fakeTLS(t *testing.T, caDir string) *tls.Config {
	ca, err := faultproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caDir, fmt.Sprintf("fake-%p.pem", ca)), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// fakeScheddList is a collector's list of 600k small schedd ads (60 MB).
func fakeScheddList(c *cedar.Conn) {
	schedd := &classad.Ad{}
	schedd.SetString("Name", "fake-schedd.example")
	schedd.SetString("MyAddress", "not a sinful string at all, just padding")
	for sent := 0; sent < hostileSize && c.SendPart() == nil; sent += 100 {
		c.PutInt(1)
		c.PutAd(schedd)
	}
}

// fakeEncryptedAd puts a collector's list of one ad of one attribute on an
// AES stream, where a string's length comes first: head, hostileSize bytes
// of unit, tail.
func fakeEncryptedAd(c *cedar.Conn, head, unit, tail string) {
	c.PutInt(1) // more
	c.PutInt(1) // attributes
	c.PutInt(int64(len(head) + hostileSize + len(tail) + 1))
	hostileValue(fakeConnWriter{c}, head, unit, tail+"\x00")
	c.PutString("") // MyType
	c.PutString("") // TargetType
}

// fakeConnWriter puts what is written into the message and sends it as it goes.
type fakeConnWriter struct{ c *cedar.Conn }

func (w fakeConnWriter) Write(b []byte) (int, error) {
	w.c.PutBytes(b)
	return len(b), w.c.SendPart()
}
