package arcrest

// Security regressions against a FAKE A-REX (httptest): answers a real
// A-REX never gives (redirects, hostile job ids).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/token"
)

const secretBearer = "not-a-jwt-but-a-secret-bearer-value"

// fakeAREXToken is fakeAREX with a bearer token on every request.
func fakeAREXToken(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/arex/rest" {
			_, _ = io.WriteString(w, `{"version":["1.0"]}`)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	src := &token.Static{Found: &token.Found{Token: token.Token(secretBearer), Source: "test"}}
	c, err := NewClient(ce.Config{Address: ce.Address{Flavour: ce.ARC, Host: host, Port: p, Path: "/arex"},
		HTTPClient: srv.Client(), Timeout: 2 * time.Second, Token: src})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRedirectNeverCarriesToken: a CE answering with a redirect — to plain
// http, or to another port of the same host — gets an error naming both
// URLs; the target never sees a request, so never the token, and ping does
// not report the credential admitted.
func TestRedirectNeverCarriesToken(t *testing.T) {
	var stolen atomic.Int32
	thief := func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		if strings.Contains(r.Header.Get("Authorization"), secretBearer) {
			t.Errorf("the bearer token reached %s", r.Host)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"job":[{"status-code":"200","reason":"OK","id":"cesub-ping","state":"FINISHED"}]}`)
	}
	plain := httptest.NewServer(http.HandlerFunc(thief))
	defer plain.Close()
	otherPort := httptest.NewTLSServer(http.HandlerFunc(thief))
	defer otherPort.Close()
	for _, tc := range []struct {
		name, target string
		code         int
	}{
		{"http, 307", plain.URL + "/arex/rest/1.0/jobs", http.StatusTemporaryRedirect},
		{"http, 302", plain.URL + "/x", http.StatusFound},
		{"https on another port, 308", otherPort.URL + "/arex/rest/1.0/jobs", http.StatusPermanentRedirect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeAREXToken(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tc.target, tc.code)
			})
			ctx := context.Background()
			_, err := c.Status(ctx, []string{"x"})
			var re *arexhttp.RedirectError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.target) || !strings.Contains(err.Error(), c.endpoint) {
				t.Fatalf("status after a redirect: %v (want an error naming %s and the CE's URL)", err, tc.target)
			}
			pr, err := c.Ping(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if pr.Admitted || !strings.Contains(pr.Problem, "redirected") {
				t.Fatalf("ping after a redirect: admitted=%v problem=%q", pr.Admitted, pr.Problem)
			}
			if n := stolen.Load(); n != 0 {
				t.Fatalf("%d requests followed the redirect", n)
			}
		})
	}
}

// TestSubmitAnswerKeepsIDs: whatever ids a submit answer carries are
// results (and so recorded), and a failure after the request went out says
// the jobs may exist and how to recover them.
func TestSubmitAnswerKeepsIDs(t *testing.T) {
	three := []jobdesc.Job{{Name: "a", Executable: jobdesc.Executable{Path: "/bin/true"}},
		{Name: "b", Executable: jobdesc.Executable{Path: "/bin/true"}}, {Name: "c", Executable: jobdesc.Executable{Path: "/bin/true"}}}
	entry := func(id string) string {
		return `{"status-code":"201","reason":"Created","id":"` + id + `","state":"ACCEPTING"}`
	}
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		ok      []string // ids returned as results
		mayBe   int      // results that are MaybeCreatedErrors
		whole   bool     // the whole call fails with a MaybeCreatedError
		notSent bool     // the whole call fails, provably before sending
	}{
		{name: "200 instead of 201", h: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"job":[`+entry("j1")+`,`+entry("j2")+`,`+entry("j3")+`]}`)
		}, ok: []string{"j1", "j2", "j3"}},
		{name: "fewer entries than jobs", h: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"job":[`+entry("j1")+`]}`)
		}, ok: []string{"j1"}, mayBe: 2},
		{name: "reset after the request", h: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			reset(w)
		}, whole: true},
		{name: "truncated 201", h: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "500")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"job":[`+entry("j1"))
			reset(w)
		}, whole: true},
		{name: "unreadable 201", h: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"job":[`+entry("j1"))
		}, whole: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeAREX(t, `{"version":["1.0"]}`, tc.h)
			res, err := c.Submit(context.Background(), three, ce.SubmitOptions{})
			var mc *ce.MaybeCreatedError
			if tc.whole {
				if !errors.As(err, &mc) || !strings.Contains(err.Error(), "cesub sync -C "+c.addr.Arg()) {
					t.Fatalf("got %v, want an error saying the jobs may exist and `cesub sync -C %s`", err, c.addr.Arg())
				}
				return
			}
			if err != nil || len(res) != len(three) {
				t.Fatalf("%v %+v", err, res)
			}
			var got []string
			mayBe := 0
			for _, r := range res {
				if r.Job != nil {
					got = append(got, r.Job.LocalID)
				}
				if errors.As(r.Err, &mc) {
					mayBe++
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.ok, ",") || mayBe != tc.mayBe {
				t.Fatalf("ids %q (want %q), %d may-exist errors (want %d)", got, tc.ok, mayBe, tc.mayBe)
			}
		})
	}
	// refused before anything was sent: no such hint
	if mc := ce.MayExist("x", &net.OpError{Op: "dial", Err: errors.New("connection refused")}); errors.As(mc, new(*ce.MaybeCreatedError)) {
		t.Errorf("a dial error got the may-exist hint: %v", mc)
	}
}

// hangingAREX is a fake A-REX whose every answer but /rest hangs; it
// counts the requests.
func hangingAREX(t *testing.T) (*Client, *atomic.Int32) {
	var n atomic.Int32
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	return c, &n
}

// TestTimedOutRequestsAreNotRetried: a GET (resty) or a streamed transfer
// (cat) that outlasts --timeout fails after one timeout, not two (a retry
// doubled the wait).
func TestTimedOutRequestsAreNotRetried(t *testing.T) {
	c, gets := hangingAREX(t)
	c.h.RC.SetTimeout(400 * time.Millisecond)
	t0 := time.Now()
	_, err := c.List(context.Background())
	took := time.Since(t0)
	if err == nil || gets.Load() != 1 || took > 700*time.Millisecond {
		t.Errorf("a timed-out GET: %v after %s, %d requests (want 1, within one timeout)", err, took.Round(time.Millisecond), gets.Load())
	}
	c, gets = hangingAREX(t) // --timeout 2s: the transfer's idle limit
	t0 = time.Now()
	err = c.Cat(context.Background(), "j1", "stdout", io.Discard)
	took = time.Since(t0)
	if err == nil || gets.Load() != 1 || took > 3*time.Second {
		t.Errorf("a timed-out cat: %v after %s, %d requests (want 1, within one timeout)", err, took.Round(time.Millisecond), gets.Load())
	}
}

// TestOversizedAnswersAreRefused: an answer past its budget (here 100,000
// entries) is refused as it streams in (a clear error, not retried), and a
// session listing of 100,000 files is refused before anything is
// downloaded.
func TestOversizedAnswersAreRefused(t *testing.T) {
	var sent atomic.Int64
	var requests atomic.Int32
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"job":[`)
		chunk := []byte(strings.Repeat(`{"id":"x","state":"RUNNING"},`, 4000))
		for sent.Load() < 200<<20 {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	c.h.RC.SetTimeout(time.Minute)
	_, err := c.Status(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "the status answer has more than 100000 entries in one list (limit): refused") {
		t.Fatalf("a 200 MB answer: %v", err)
	}
	if requests.Load() != 1 {
		t.Errorf("%d requests: an oversized answer must not be asked for again", requests.Load())
	}

	var listing strings.Builder
	listing.WriteString("<ActivityInfo>")
	for i := 0; i < 100_000; i++ {
		fmt.Fprintf(&listing, `<file size="1">f%d</file>`, i)
	}
	listing.WriteString("</ActivityInfo>")
	var downloads atomic.Int32
	c, _ = fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/session/") {
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, listing.String())
			return
		}
		downloads.Add(1)
		_, _ = io.WriteString(w, "x")
	})
	c.h.RC.SetTimeout(time.Minute) // the listing takes seconds under -race on a loaded machine
	dir := t.TempDir()
	_, err = c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "the session listing has more than 50000 entries in one element (limit)") || downloads.Load() != 0 {
		t.Fatalf("a listing of 100,000 files: %v, %d downloads", err, downloads.Load())
	}
}

// TestEmptySubmitAnswer: a 201 with no entries at all is a short answer
// like any other: the jobs are looked for by their mark (none here), and
// the error says they may exist.
func TestEmptySubmitAnswer(t *testing.T) {
	c, _ := fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("action") == "new" {
			w.WriteHeader(http.StatusCreated)
		}
	})
	var warned []string
	jobs := []jobdesc.Job{{Executable: jobdesc.Executable{Path: "/bin/true"}}}
	_, err := c.Submit(context.Background(), jobs, ce.SubmitOptions{Warn: func(s string) { warned = append(warned, s) }})
	var mc *ce.MaybeCreatedError
	if !errors.As(err, &mc) {
		t.Fatalf("an empty submit answer: %v", err)
	}
}
