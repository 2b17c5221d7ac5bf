package arcrest

// Fault injection against a FAKE A-REX (httptest): what a real A-REX cannot
// do on demand — HTML pages, 5xx, resets, truncated bodies, delays — and the
// JSON quirks of both versions in one place. Everything protocol-normal is
// tested against the real A-REX 6.17 and 7 in /integration.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// fakeAREX serves /arex/rest and whatever handler the test gives for the rest.
func fakeAREX(t *testing.T, versions string, h http.HandlerFunc) (*Client, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/arex/rest" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, versions)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	c, err := NewClient(ce.Config{Address: ce.Address{Flavour: ce.ARC, Host: host, Port: p, Path: "/arex"},
		HTTPClient: srv.Client(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, &calls
}

func TestJSONQuirks(t *testing.T) {
	// 6.17 style: one element is an object, numbers are strings; an unknown job answers 404 per job
	c, _ := fakeAREX(t, `{"version":"1.0"}`, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("action") {
		case "status":
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("ids sent as %q: A-REX ignores them unless JSON or XML", r.Header.Get("Content-Type"))
			}
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte("gone")) {
				w.WriteHeader(http.StatusCreated)
				_, _ = io.WriteString(w, `{"job":[{"status-code":"200","reason":"OK","id":"a1","state":"FINISHED"},{"status-code":"404","reason":"Not Found","id":"gone"}]}`)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"job":{"status-code":"200","reason":"OK","id":"a1","state":"FINISHED"}}`)
		default:
			w.WriteHeader(http.StatusOK) // an empty list is a 0-byte body
		}
	})
	ctx := context.Background()
	if v, err := c.Version(ctx); err != nil || v != "1.0" {
		t.Fatalf("version from an object: %q %v", v, err)
	}
	res, err := c.Status(ctx, []string{"a1"})
	if err != nil || len(res) != 1 || res[0].Job == nil || res[0].Job.State != ce.StateFinished {
		t.Fatalf("object instead of array: %+v %v", res, err)
	}
	res, err = c.Status(ctx, []string{"a1", "gone"})
	if err != nil || res[0].Err != nil || res[1].Err == nil || !strings.Contains(res[1].Err.Error(), "not found") {
		t.Fatalf("per-job 404 inside a 201: %+v %v", res, err)
	}
	jobs, err := c.List(ctx)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("empty body as empty list: %v %v", jobs, err)
	}
}

func TestSubmitPerJobRefusal(t *testing.T) {
	c, _ := fakeAREX(t, `{"version":["1.0","1.1"]}`, func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/arex/rest/1.1/jobs") {
			t.Errorf("not REST 1.1: %s", r.URL.Path)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"job":[{"status-code":"201","reason":"Created","id":"ok1","state":"ACCEPTING"},`+
			`{"status-code":"500","reason":"Failed to parse job description"}]}`)
	})
	jobs := []jobdesc.Job{{Name: "a", Executable: jobdesc.Executable{Path: "/bin/true"}}, {Name: "b", Executable: jobdesc.Executable{Path: "/bin/true"}}}
	res, err := c.Submit(context.Background(), jobs, ce.SubmitOptions{})
	if err != nil || len(res) != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	if res[0].Err != nil || res[0].Job == nil || res[0].Job.LocalID != "ok1" {
		t.Errorf("accepted job: %+v", res[0])
	}
	if res[1].Err == nil || !strings.Contains(res[1].Err.Error(), "Failed to parse job description") {
		t.Errorf("refused job must carry the CE's reason: %+v", res[1])
	}
}

func TestFaultAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      http.HandlerFunc
		want   string
		isAuth bool
	}{
		{"HTML page", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1>"+strings.Repeat("x", 2000)+"</body></html>")
		}, "502 Bad Gateway: (an HTML page)", false},
		{"5xx with reason", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "Failed to process job", http.StatusInternalServerError)
		}, "500 Internal Server Error: Failed to process job", false},
		{"403", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }, "refused this identity", true},
		{"ARC 7 unmapped identity", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "User can't be assigned configuration", http.StatusInternalServerError)
		}, "could not validate the token or map it", true},
		{"ARC 7 missing scope", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "Token scopes do not match requires scopes", http.StatusForbidden)
		}, "lacks the scope", true},
		{"truncated JSON", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"job":[{"status-code":"201","id":"x`)
		}, "cannot read A-REX's answer", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeAREX(t, `{"version":["1.0"]}`, tc.h)
			_, err := c.Status(context.Background(), []string{"x"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if len(err.Error()) > 600 {
				t.Errorf("error too long (%d chars): the body must be cut", len(err.Error()))
			}
			var af interface{ AuthFailure() bool }
			if got := errors.As(err, &af) && af.AuthFailure(); got != tc.isAuth {
				t.Errorf("auth failure = %v, want %v", got, tc.isAuth)
			}
		})
	}
}

// reset closes the connection without an answer.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestResetNeverSubmitsTwice(t *testing.T) {
	var submits atomic.Int32
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("action") == "new" {
			submits.Add(1)
		}
		reset(w) // the CE may have created the job: a retry could make a second one
	})
	jobs := []jobdesc.Job{{Executable: jobdesc.Executable{Path: "/bin/true"}}}
	if _, err := c.Submit(context.Background(), jobs, ce.SubmitOptions{}); err == nil {
		t.Fatal("a reset submit reported success")
	}
	if n := submits.Load(); n != 1 {
		t.Fatalf("the submit was sent %d times after a reset, want exactly 1", n)
	}
}

func TestResetGetIsRetriedOnce(t *testing.T) {
	var n atomic.Int32
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			reset(w)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"job":[{"id":"j1","state":"RUNNING"}]}`)
	})
	jobs, err := c.List(context.Background())
	if err != nil || len(jobs) != 1 || n.Load() != 2 {
		t.Fatalf("GET after a reset: %v %v, %d requests", jobs, err, n.Load())
	}
}

// truncate answers 200 with the head of body and then breaks the connection
// off, as a CE or something in between dying mid-answer does.
func truncate(w http.ResponseWriter, body string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])
	_ = buf.Flush()
	conn.Close()
}

// TestTruncatedAnswerIsAskedAgain: an answer read as a stream that breaks
// off is asked for once more when the request is idempotent (status, a
// listing), as a transport error before the answer is; never a submission.
func TestTruncatedAnswerIsAskedAgain(t *testing.T) {
	answer := `{"job":[{"id":"j1","state":"RUNNING","status-code":"200"}]}`
	var mu sync.Mutex
	asked := map[string]int{} // requests per kind (method, path, action)
	var submits atomic.Int32
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("action") == "new" {
			submits.Add(1)
			truncate(w, `{"job":[{"id":"j2","status-code":"201","reason":"Created"}]}`)
			return
		}
		mu.Lock()
		kind := r.Method + " " + r.URL.Path + " " + r.URL.Query().Get("action")
		asked[kind]++
		first := asked[kind] == 1
		mu.Unlock()
		if first {
			truncate(w, answer)
			return
		}
		_, _ = io.WriteString(w, answer)
	})
	count := func(kind string) int { mu.Lock(); defer mu.Unlock(); return asked[kind] }
	ctx := context.Background()
	jobs, err := c.List(ctx)
	if n := count("GET /arex/rest/1.0/jobs "); err != nil || len(jobs) != 1 || n != 2 {
		t.Fatalf("listing after a truncated answer: %v %v, %d listing requests", jobs, err, n)
	}
	c.SetJobCount(1000, time.Now()) // a CE with many more jobs: status posts the ids
	res, err := c.Status(ctx, []string{"j1"})
	if n := count("POST /arex/rest/1.0/jobs status"); err != nil || len(res) != 1 || res[0].Err != nil || n != 2 {
		t.Fatalf("status after a truncated answer: %+v %v, %d status requests", res, err, n)
	}
	_, _ = c.Submit(ctx, []jobdesc.Job{{Executable: jobdesc.Executable{Path: "/bin/true"}}}, ce.SubmitOptions{})
	if submits.Load() != 1 {
		t.Fatalf("a submission whose answer broke off was sent %d times, want 1", submits.Load())
	}
}

func TestSlowCEHitsTimeout(t *testing.T) {
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := c.Status(ctx, []string{"x"})
	if err == nil || time.Since(t0) > 3*time.Second {
		t.Fatalf("slow CE: %v after %s", err, time.Since(t0))
	}
}

// TestGetResumesWithRange: a download cut off midway leaves cesub's own
// partial file, which the next get continues with a Range request; when
// done no partial file and no marker are left.
func TestGetResumesWithRange(t *testing.T) {
	content := strings.Repeat("0123456789", 1000)
	var sawRange atomic.Value
	var cut atomic.Bool
	cut.Store(true)
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/session/"):
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, `<ActivityInfo><file size="10000">big.out</file></ActivityInfo>`)
		case strings.HasSuffix(r.URL.Path, "/session/big.out") && cut.Load():
			w.Header().Set("Content-Length", "10000")
			_, _ = io.WriteString(w, content[:4000])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection drops
		case strings.HasSuffix(r.URL.Path, "/session/big.out"):
			sawRange.Store(r.Header.Get("Range"))
			http.ServeContent(w, r, "big.out", time.Now(), strings.NewReader(content))
		default:
			http.NotFound(w, r)
		}
	})
	dir := filepath.Join(t.TempDir(), "j1")
	if _, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir}); err == nil {
		t.Fatal("a download cut off midway succeeded")
	}
	if fi, err := os.Stat(filepath.Join(dir, "big.out.cesub-part")); err != nil || fi.Size() != 4000 {
		t.Fatalf("after the cut: %v %v, want a 4000-byte partial file", fi, err)
	}
	cut.Store(false)
	res, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "big.out")); string(got) != content {
		t.Fatalf("resumed file has %d bytes, content differs", len(got))
	}
	if r, _ := sawRange.Load().(string); r != "bytes=4000-" {
		t.Errorf("Range %q, want bytes=4000-", r)
	}
	if res.Files != 1 || res.Bytes != 10000 {
		t.Errorf("result %+v", res)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the folder: %v, want only big.out", entries)
	}
}

func TestGetRefusesEscapingNames(t *testing.T) {
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<ActivityInfo><file size="1">../../etc/passwd</file></ActivityInfo>`)
	})
	if _, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "unsafe") {
		t.Fatalf("a name escaping the download directory: %v", err)
	}
}

// TestGetFullDisk: a download into a full file system fails with a message
// naming the file and the cause (root only: mounts a 64 KiB tmpfs).
func TestGetFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := execCommand("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	defer execCommand("umount", dir) //nolint:errcheck
	content := strings.Repeat("x", 1<<20)
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/session/") {
			_, _ = io.WriteString(w, `<ActivityInfo><file size="1048576">out.dat</file></ActivityInfo>`)
			return
		}
		_, _ = io.WriteString(w, content)
	})
	_, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: filepath.Join(dir, "j1")})
	if err == nil || !strings.Contains(err.Error(), "out.dat") || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("full disk: %v", err)
	}
}

func execCommand(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// TestPingRefusedOrBroken: a CE that refuses the credential is Refused
// (exit 4); one that fails the admission probe otherwise (a 503) is reached,
// not admitted and not Refused (exit 1).
func TestPingRefusedOrBroken(t *testing.T) {
	for _, tc := range []struct {
		code    int
		refused bool
	}{{http.StatusForbidden, true}, {http.StatusServiceUnavailable, false}, {http.StatusOK, false}} {
		c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("action") == "status" && tc.code != http.StatusOK {
				http.Error(w, http.StatusText(tc.code), tc.code)
				return
			}
			_, _ = io.WriteString(w, `{"job":[]}`)
		})
		p, err := c.Ping(context.Background())
		if err != nil {
			t.Fatalf("%d: %v", tc.code, err)
		}
		if p.Refused != tc.refused || p.Admitted != (tc.code == http.StatusOK) || !p.Reachable {
			t.Errorf("admission answered %d: %+v", tc.code, p)
		}
	}
}
