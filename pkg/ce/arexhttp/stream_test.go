package arexhttp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
)

// faultyArex is a fault-injecting stand-in for A-REX (a real one cannot be
// made to refuse a valid token on demand): it answers what script says for
// the n-th request (1-based), and records what arrived.
type faultyArex struct {
	srv    *httptest.Server
	n      atomic.Int32
	mu     sync.Mutex
	bodies map[string][][]byte // path -> each body received
	lens   []int64             // Content-Length of each request
	te     []string            // Transfer-Encoding of each request
	script func(n int, r *http.Request) string
}

// refuse writes A-REX 6's refusal with its custom reason phrase, which
// net/http's server cannot write, on the hijacked connection.
func refuse(w http.ResponseWriter, status string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	buf.Flush()
}

// refuseOnThisConnection answers A-REX 6's refusal and keeps the
// connection open, refusing every further request on it, as A-REX does
// once its check of a token failed on a connection.
func refuseOnThisConnection(w http.ResponseWriter, status string, count func()) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	for {
		buf.WriteString("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\n\r\n")
		if buf.Flush() != nil {
			return
		}
		r, err := http.ReadRequest(buf.Reader)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		count()
	}
}

func newFaultyArex(t *testing.T, script func(n int, r *http.Request) string) *faultyArex {
	f := &faultyArex{bodies: map[string][][]byte{}, script: script}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.n.Add(1))
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies[r.URL.Path] = append(f.bodies[r.URL.Path], b)
		f.lens = append(f.lens, r.ContentLength)
		f.te = append(f.te, strings.Join(r.TransferEncoding, ","))
		f.mu.Unlock()
		switch s := f.script(n, r); s {
		case "", "200 OK":
			w.WriteHeader(http.StatusOK)
		case "keep-alive " + refusal:
			refuseOnThisConnection(w, refusal, func() { f.n.Add(1) })
		default:
			refuse(w, s)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *faultyArex) client(t *testing.T, tok string, timeout time.Duration) *Client {
	t.Helper()
	addr, err := ce.ParseAddress(f.srv.URL+"/arex", "")
	if err != nil {
		t.Fatal(err)
	}
	var src token.Source
	if tok != "" {
		src = &token.Static{Found: &token.Found{Token: token.Token(tok), Source: "test"}}
	}
	return New(ce.Config{Address: addr, HTTPClient: f.srv.Client(), Token: src, Timeout: timeout}, "application/json")
}

const refusal = "403 User can't be assigned configuration"

func writeFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	b := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	p := filepath.Join(t.TempDir(), "in.dat")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func TestUploadRetriesSpuriousRejection(t *testing.T) {
	// Request 1 (the job's creation) succeeds; the first upload is refused
	// as A-REX 6 refuses when its check of the token fails.
	f := newFaultyArex(t, func(n int, r *http.Request) string {
		if n == 2 {
			return refusal
		}
		return ""
	})
	c := f.client(t, "tok-1", 10*time.Second)
	if _, err := c.RC.R().Get(f.srv.URL + "/arex/rest/1.0/jobs"); err != nil {
		t.Fatal(err)
	}
	p, want := writeFile(t, 1<<20)
	if err := c.uploadOne(context.Background(), Upload{Path: p, Name: "in.dat", Size: int64(len(want))}, f.srv.URL+"/arex/job/session/in.dat"); err != nil {
		t.Fatalf("upload: %v", err)
	}
	got := f.bodies["/arex/job/session/in.dat"]
	if len(got) != 2 {
		t.Fatalf("upload sent %d times, want 2 (refused, then accepted)", len(got))
	}
	if !bytes.Equal(got[1], want) {
		t.Fatalf("second upload carried %d bytes, want the whole file (%d)", len(got[1]), len(want))
	}
}

func TestRestyRequestRetriesSpuriousRejection(t *testing.T) {
	f := newFaultyArex(t, func(n int, r *http.Request) string {
		if n == 2 || n == 3 {
			return refusal
		}
		return ""
	})
	c := f.client(t, "tok-1", 10*time.Second)
	for i := 0; i < 2; i++ {
		resp, err := c.RC.R().SetBody([]byte(`{"job":[]}`)).Post(f.srv.URL + "/arex/rest/1.0/jobs")
		if err := Check("post", resp, err, http.StatusOK); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := f.n.Load(); n != 4 {
		t.Fatalf("%d requests reached the server, want 4 (1 ok, 2 refused and retried, 1 ok)", n)
	}
}

func TestRejectionNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(n int, r *http.Request) string
		first  bool // make a successful request first
		tok    string
		want   int32 // requests that reach the server for the refused one
	}{
		{"token never accepted: RejectionRetries more", func(int, *http.Request) string { return refusal }, false, "tok-1", 1 + RejectionRetries},
		{"accepted token: RejectionRetries more", func(n int, _ *http.Request) string {
			if n > 1 {
				return refusal
			}
			return ""
		}, true, "tok-1", 1 + RejectionRetries},
		{"scope refusal is real", func(n int, _ *http.Request) string {
			if n > 1 {
				return "403 Operation is not allowed"
			}
			return ""
		}, true, "tok-1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFaultyArex(t, tc.script)
			c := f.client(t, tc.tok, 10*time.Second)
			base := int32(0)
			if tc.first {
				if _, err := c.RC.R().Get(f.srv.URL + "/arex/x"); err != nil {
					t.Fatal(err)
				}
				base = 1
			}
			p, _ := writeFile(t, 4096)
			err := c.uploadOne(context.Background(), Upload{Path: p, Name: "in.dat"}, f.srv.URL+"/arex/job/session/in.dat")
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("want an authentication error, got %v", err)
			}
			if got := f.n.Load() - base; got != tc.want {
				t.Fatalf("upload reached the server %d times, want %d", got, tc.want)
			}
			resp, err := c.RC.R().Get(f.srv.URL + "/arex/y")
			if Check("get", resp, err, http.StatusOK) == nil {
				t.Fatal("a refused GET passed")
			}
		})
	}
}

// The upload streams: the server sees a Content-Length (not chunked) and
// the client does not hold the file in memory. The server hashes what it
// gets as it reads, so that what this process allocates is the client's.
func TestUploadStreams(t *testing.T) {
	var mu sync.Mutex
	var got []byte
	var length int64
	var te string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		_, _ = io.Copy(h, r.Body)
		mu.Lock()
		got, length, te = h.Sum(nil), r.ContentLength, strings.Join(r.TransferEncoding, ",")
		mu.Unlock()
	}))
	defer srv.Close()
	addr, _ := ce.ParseAddress(srv.URL+"/arex", "")
	c := New(ce.Config{Address: addr, HTTPClient: srv.Client(), Token: &token.Static{Found: &token.Found{Token: "tok-1", Source: "test"}}}, "")
	const size = 64 << 20
	p, want := writeFile(t, size)
	sum := sha256.Sum256(want)
	want = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := c.uploadOne(context.Background(), Upload{Path: p, Name: "in.dat", Size: size}, srv.URL+"/arex/job/session/in.dat"); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(got, sum[:]) {
		t.Fatal("the server got bytes that differ from the file")
	}
	if length != size || te != "" {
		t.Fatalf("request carried Content-Length %d, Transfer-Encoding %q; want %d and none", length, te, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Fatalf("%d MiB allocated for a %d MiB upload: the file is buffered", alloc>>20, size>>20)
	}
}

// slowArex trickles an answer: every chunk after gap, then stalls for stall.
func slowArex(t *testing.T, chunks int, gap, stall time.Duration) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1024000")
		w.WriteHeader(http.StatusOK)
		for i := 0; i < chunks; i++ {
			w.Write(bytes.Repeat([]byte{'x'}, 1024000/chunks))
			w.(http.Flusher).Flush()
			if i == chunks/2 && stall > 0 {
				select {
				case <-time.After(stall):
				case <-r.Context().Done():
					return
				}
			}
			time.Sleep(gap)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTransferTimeLimitIsIdleTime(t *testing.T) {
	limit := 400 * time.Millisecond
	mk := func(srv *httptest.Server) *Client {
		addr, _ := ce.ParseAddress(srv.URL+"/arex", "")
		return New(ce.Config{Address: addr, HTTPClient: srv.Client(), Timeout: limit}, "")
	}
	// 20 chunks 60 ms apart: 1.2 s in all, three times the limit, never idle for long.
	steady := slowArex(t, 20, 60*time.Millisecond, 0)
	var out bytes.Buffer
	if err := mk(steady).Cat(context.Background(), "cat", steady.URL+"/arex/f", &out, nil); err != nil || out.Len() != 1024000 {
		t.Fatalf("a steady transfer longer than the limit: %v (%d bytes)", err, out.Len())
	}
	// The same transfer stalled for 5 s halfway.
	stalled := slowArex(t, 20, 10*time.Millisecond, 5*time.Second)
	t0 := time.Now()
	out.Reset()
	err := mk(stalled).Cat(context.Background(), "cat", stalled.URL+"/arex/f", &out, nil)
	var ie *IdleError
	if !errors.As(err, &ie) {
		t.Fatalf("a stalled transfer: want an IdleError, got %v after %s", err, time.Since(t0))
	}
	if !strings.Contains(err.Error(), "no data moved for 400ms") {
		t.Fatalf("message does not say what happened: %v", err)
	}
	if d := time.Since(t0); d > 4*time.Second {
		t.Fatalf("the stall was noticed after %s", d)
	}
}

// A file that cannot be opened is this side's failure: said at once, and
// nothing reaches the CE.
func TestUploadMissingFile(t *testing.T) {
	f := newFaultyArex(t, func(int, *http.Request) string { return "" })
	c := f.client(t, "tok-1", 10*time.Second)
	err := c.uploadOne(context.Background(), Upload{Path: filepath.Join(t.TempDir(), "gone.dat"), Name: "gone.dat"}, f.srv.URL+"/arex/job/session/gone.dat")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "upload gone.dat") {
		t.Fatalf("want a not-exist error naming the upload, got %v", err)
	}
	if n := f.n.Load(); n != 0 {
		t.Fatalf("%d requests reached the CE", n)
	}
}

// TestRejectionRetriedOnANewConnection: A-REX 6.17 ties a failed token
// check to the connection — every later request on it is refused too —
// so a retry must not go out on the same connection. The server here
// refuses everything on the connection of the first refusal.
func TestRejectionRetriedOnANewConnection(t *testing.T) {
	refuseNext := atomic.Bool{}
	f := newFaultyArex(t, func(n int, r *http.Request) string {
		if refuseNext.CompareAndSwap(true, false) {
			return "keep-alive " + refusal
		}
		return ""
	})
	c := f.client(t, "tok-1", 10*time.Second)
	if _, err := c.RC.R().Get(f.srv.URL + "/arex/rest/1.0/jobs"); err != nil {
		t.Fatal(err)
	}
	refuseNext.Store(true)
	resp, err := c.RC.R().Get(f.srv.URL + "/arex/rest")
	if err := Check("get", resp, err, http.StatusOK); err != nil {
		t.Fatalf("refused on one connection, retried on it: %v", err)
	}
	p, want := writeFile(t, 64<<10)
	refuseNext.Store(true)
	if err := c.uploadOne(context.Background(), Upload{Path: p, Name: "in.dat", Size: int64(len(want))}, f.srv.URL+"/arex/job/session/in.dat"); err != nil {
		t.Fatalf("upload refused on one connection, retried on it: %v", err)
	}
}
