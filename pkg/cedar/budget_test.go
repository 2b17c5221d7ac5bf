package cedar

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/cesub/cesub/pkg/classad"
)

// hostileAnswers are answers a FAKE hostile daemon sends after
// authentication (60 MB each, generated as they are sent), with the limit
// each must meet. ads reads one ad; else an answer of one ad per message,
// as a queue query.
var hostileAnswers = map[string]struct {
	send  func(w *fakePackets)
	ads   bool
	limit string
}{
	"ad of 10k attributes of 6 KB": {func(w *fakePackets) {
		w.ad(10000, func(i int) { fakeValue(w, fmt.Sprintf("A%d = \"", i), "x", 6000, "\"\x00") })
	}, false, "bytes of text in one ClassAd"},
	"60 MB list attribute": {func(w *fakePackets) {
		w.ad(1, func(int) { fakeValue(w, "L = {", "1,", 30<<20, "1}\x00") })
	}, false, "bytes of text in one ClassAd"},
	"60 MB string": {func(w *fakePackets) {
		w.ad(1, func(int) { fakeValue(w, `S = "`, "x", 60<<20, "\"\x00") })
	}, false, "bytes of text in one ClassAd"},
	"4 MB expression": {func(w *fakePackets) {
		w.ad(1, func(int) { fakeValue(w, "E = 1", "+1", 2<<20, "\x00") })
	}, false, "expression tokens in one ClassAd"},
	"600k ads": {func(w *fakePackets) {
		for i := 0; i < 600000 && w.err == nil; i++ {
			w.ad(1, func(int) { fmt.Fprintf(w, "ClusterId = %d\x00", i) })
			w.end()
		}
	}, true, "ClassAds in one answer"},
	"ads of 240k tokens": {func(w *fakePackets) {
		for w.err == nil {
			w.ad(1, func(int) { fakeValue(w, "E = 1", "+1", 120000, "\x00") })
			w.end()
		}
	}, true, "expression tokens in one answer"},
	"ads of 8 MB strings": {func(w *fakePackets) {
		for w.err == nil {
			w.ad(1, func(int) { fakeValue(w, `S = "`, "x", 8<<20-16, "\"\x00") })
			w.end()
		}
	}, true, "bytes of text in one answer"},
}

// TestPostAuthBudgets: each hostile answer after authentication, decoded
// in a child process (this test binary again), is refused with its limit
// and costs the child at most 150 MB peak RSS.
func TestPostAuthBudgets(t *testing.T) {
	if name := os.Getenv("CESUB_HOSTILE_ANSWER"); name != "" {
		fmt.Println(decodeHostile(hostileAnswers[name].send, hostileAnswers[name].ads))
		return
	}
	if testing.Short() {
		t.Skip("decodes 60 MB answers in child processes")
	}
	for name, tc := range hostileAnswers {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPostAuthBudgets$")
			cmd.Env = append(os.Environ(), "CESUB_HOSTILE_ANSWER="+name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
			t.Logf("%s: peak RSS %d MB: %s", name, rss>>10, strings.SplitN(string(out), "\n", 2)[0])
			if rss > 150<<10 && !raceDetector { // the plain run of .ci/run holds it
				t.Errorf("peak RSS %d MB, want at most 150 MB", rss>>10)
			}
			if !strings.Contains(string(out), "fake-daemon:1 sent more than") || !strings.Contains(string(out), tc.limit) ||
				!strings.Contains(string(out), "limit after authentication") {
				t.Errorf("want a refusal naming the daemon and %q, got %s", tc.limit, out)
			}
		})
	}
}

// decodeHostile reads what send writes on an authenticated connection, as
// GetAd or a query's loop (keeping the ads) reads it; it returns the error.
func decodeHostile(send func(w *fakePackets), many bool) error {
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		w := &fakePackets{w: bufio.NewWriter(b)}
		send(w)
		w.end()
	}()
	c := NewConn(a)
	c.peer = "fake-daemon:1"
	c.authenticated()
	defer c.Close()
	if !many {
		_, err := c.GetAd()
		return err
	}
	budget := c.NewAnswer(0)
	var kept []*classad.Ad
	for {
		ad, err := c.GetAdIn(budget)
		if err == nil {
			err = c.FinishMessage()
		}
		if err != nil {
			return fmt.Errorf("after %d ads: %w", len(kept), err)
		}
		kept = append(kept, ad)
	}
}

// fakeValue writes head, unit n times, then tail.
func fakeValue(w io.Writer, head, unit string, n int, tail string) {
	_, _ = io.WriteString(w, head)
	chunk := []byte(strings.Repeat(unit, 4096))
	for ; n > 0; n -= 4096 {
		if _, err := w.Write(chunk[:min(n, 4096)*len(unit)]); err != nil {
			return
		}
	}
	_, _ = io.WriteString(w, tail)
}

// fakePackets frames what is written as CEDAR messages in 64 KiB packets,
// holding one packet at a time.
type fakePackets struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (p *fakePackets) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for len(p.buf) >= sendPacket && p.err == nil {
		p.packet(p.buf[:sendPacket], 0)
		p.buf = append(p.buf[:0], p.buf[sendPacket:]...)
	}
	return len(b), p.err
}

func (p *fakePackets) packet(b []byte, end byte) {
	hdr := binary.BigEndian.AppendUint32([]byte{end}, uint32(len(b)))
	if _, err := p.w.Write(append(hdr, b...)); err != nil {
		p.err = err
	}
}

// ad writes an ad of n attributes, attr(i) writing each.
func (p *fakePackets) ad(n int, attr func(i int)) {
	_, _ = p.Write(binary.BigEndian.AppendUint64(nil, uint64(n)))
	for i := 0; i < n && p.err == nil; i++ {
		attr(i)
	}
	_, _ = p.Write([]byte("\x00\x00"))
}

// end ends the message.
func (p *fakePackets) end() {
	if len(p.buf) > 0 && p.err == nil {
		p.packet(p.buf, 1)
		p.buf = p.buf[:0]
	}
	if p.err == nil {
		p.err = p.w.Flush()
	}
}

// TestBudgetBeforeAuthentication: before authentication the limits are the
// small ones, and an answer is bounded by what was asked (NewAnswer). A
// daemon that declines to authenticate is refused with them
// (TestDaemonDecliningAuthenticationIsRefused).
func TestBudgetBeforeAuthentication(t *testing.T) {
	ad := func(attrs ...string) []byte {
		b := wireInt(int64(len(attrs)))
		for _, a := range attrs {
			b = append(append(b, a...), 0)
		}
		return append(b, 0, 0)
	}
	var many []string
	for i := 0; i <= preAuthAttrs; i++ {
		many = append(many, fmt.Sprintf("A%d = %d", i, i))
	}
	for _, tc := range []struct {
		name, want string
		msg        []byte
	}{
		{"a negotiation ad", "", ad(`AuthMethods = "SCITOKENS"`, `Authentication = "YES"`, `ECDHPublicKey = "BGk8"`)},
		{"257 attributes", "more than 256 attributes in one ClassAd", ad(many...)},
		{"a 4097-token list", "more than 4096 expression tokens in one ClassAd", ad("L = {" + strings.Repeat("1,", 2048) + "1}")},
		{"a 64 KiB string", "more than 65536 bytes in one message", ad(`S = "` + strings.Repeat("x", 64<<10) + `"`)},
	} {
		c := NewConn(newBufConn(frames(tc.msg)))
		c.peer = "ce.example:9619"
		_, err := c.GetAd()
		var le *LimitError
		if tc.want == "" && err != nil || tc.want != "" && (!errors.As(err, &le) || !le.PreAuth ||
			!strings.Contains(err.Error(), "ce.example:9619 sent "+tc.want) || !strings.Contains(err.Error(), "before authentication")) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// three ads asked, four sent
	var msg []byte
	for i := 0; i < 4; i++ {
		msg = append(msg, ad("A = 1")...)
	}
	c := NewConn(newBufConn(frames(msg)))
	c.authenticated()
	b := c.NewAnswer(3)
	var err error
	for i := 0; i < 4 && err == nil; i++ {
		_, err = c.GetAdIn(b)
	}
	if err == nil || !strings.Contains(err.Error(), "more than 3 ClassAds in one answer") {
		t.Errorf("four ads where three were asked: %v", err)
	}
}
