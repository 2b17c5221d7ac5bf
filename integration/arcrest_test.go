package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"github.com/cesub/cesub/pkg/x509proxy"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arcrest"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
	"github.com/cesub/cesub/pkg/token"
)

// arcClient is an A-REX REST client authenticated with a fresh testbed token.
func arcClient(t *testing.T, tb *testbed.Env) *arcrest.Client {
	t.Helper()
	return arcClientDebug(t, tb, nil)
}

// arcClientDebug is arcClient with its debug lines sent to debugf.
func arcClientDebug(t *testing.T, tb *testbed.Env, debugf func(string, ...any)) *arcrest.Client {
	t.Helper()
	key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := key.Mint(testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: "cesub-test-user",
		Audience: []string{"https://localhost:8444"}, Groups: []string{"/wlcg/pilots"}, Lifetime: time.Hour,
		Scope: "compute.create compute.read compute.modify compute.cancel"})
	if err != nil {
		t.Fatal(err)
	}
	pool, _, err := x509proxy.CertPool(tb.Get(t, "X509_CERT_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := ce.ParseAddress(tb.Get(t, "CESUB_TESTBED_AREX_URL"), "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := arcrest.NewClient(ce.Config{Address: addr, Timeout: 60 * time.Second, Debugf: debugf,
		Token:      &token.Static{Found: &token.Found{Token: token.Token(tok), Source: "test"}},
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitTerminal(t *testing.T, c *arcrest.Client, id string, limit time.Duration) ce.State {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st, raw, err := c.LiveState(context.Background(), id)
		if err != nil {
			t.Fatalf("live state: %v", err)
		}
		if st.Terminal() {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after %s", id, raw, limit)
		}
		time.Sleep(time.Second)
	}
}

func TestARCRESTLifecycleTokenOnly(t *testing.T) {
	tb := testbed.Require(t)
	c := arcClient(t, tb)
	ctx := context.Background()
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"hello $(cat in.txt)\"\nmkdir -p result/deep\necho data > result/deep/file.dat\necho top > result/top.txt\n"
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("from an uploaded input"), 0o644); err != nil {
		t.Fatal(err)
	}
	jobs, err := xrsl.Parse("it.xrsl", []byte(`&(executable="run.sh")(stdout="out.txt")(stderr="err.txt")(jobname="cesub-it")
	  (inputfiles=("in.txt" ""))(outputfiles=("result/" ""))`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Submit(ctx, jobs, ce.SubmitOptions{BaseDir: dir})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("submit: %v %+v", err, res)
	}
	id := res[0].Job.LocalID
	t.Logf("submitted %s", res[0].ID)
	if st := waitTerminal(t, c, id, 3*time.Minute); st != ce.StateFinished {
		t.Fatalf("job ended %s", st)
	}
	var out bytes.Buffer
	if err := c.Cat(ctx, id, "out.txt", &out); err != nil || strings.TrimSpace(out.String()) != "hello from an uploaded input" {
		t.Fatalf("cat: %v %q", err, out.String())
	}
	dl := filepath.Join(dir, "download")
	gr, err := c.Get(ctx, id, ce.GetOptions{Dir: dl})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	for f, want := range map[string]string{"out.txt": "hello from an uploaded input\n", "result/deep/file.dat": "data\n", "result/top.txt": "top\n"} {
		b, err := os.ReadFile(filepath.Join(dl, f))
		if err != nil || string(b) != want {
			t.Errorf("downloaded %s: %v %q", f, err, b)
		}
	}
	t.Logf("get: %d files, %d bytes", gr.Files, gr.Bytes)
	st, err := c.Status(ctx, []string{id, "no-such-job"})
	if err != nil || st[0].Job == nil || st[0].Job.State != ce.StateFinished || st[1].Err == nil {
		t.Fatalf("status: %v %+v", err, st)
	}
	cl, err := c.Clean(ctx, []string{id})
	if err != nil || cl[0].Err != nil {
		t.Fatalf("clean: %v %+v", err, cl)
	}
	if _, err := c.Status(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Implementation != "nordugrid-arc" || len(info.Queues) == 0 || info.Queues[0].Name != "fork" {
		t.Fatalf("info: %v %+v", err, info)
	}
}

func TestARCRESTKillAndMissingInput(t *testing.T) {
	tb := testbed.Require(t)
	c := arcClient(t, tb)
	ctx := context.Background()
	jobs, _ := xrsl.Parse("k.xrsl", []byte(`&(executable="/bin/sleep")(arguments="300")(jobname="cesub-kill")`))
	res, err := c.Submit(ctx, jobs, ce.SubmitOptions{})
	if err != nil || res[0].Err != nil {
		t.Fatalf("submit: %v %+v", err, res)
	}
	id := res[0].Job.LocalID
	k, err := c.Kill(ctx, []string{id})
	if err != nil || k[0].Err != nil {
		t.Fatalf("kill: %v %+v", err, k)
	}
	if st := waitTerminal(t, c, id, 3*time.Minute); st != ce.StateFinished && st != ce.StateKilled && st != ce.StateFailed {
		t.Fatalf("killed job ended %s", st)
	}
	_, _ = c.Clean(ctx, []string{id})
	// a missing input file: refused before anything is submitted
	missing, _ := xrsl.Parse("m.xrsl", []byte(`&(executable="/bin/true")(inputfiles=("nope.dat" ""))`))
	before, _ := c.List(ctx)
	if _, err := c.Submit(ctx, missing, ce.SubmitOptions{BaseDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "nothing was submitted") {
		t.Fatalf("missing input: %v", err)
	}
	after, _ := c.List(ctx)
	known := map[string]bool{}
	for _, j := range before {
		known[j.LocalID] = true
	}
	for _, j := range after {
		if !known[j.LocalID] {
			t.Errorf("job %s was created although an input was missing", j.ID)
		}
	}
}

// A-REX 6.17 checks a token by fetching the issuer's keys for every request,
// and some of those fetches fail when requests arrive together: a valid
// token is then refused with 403. Many parallel uploads with one token must
// all land (cesub sends a refused request again).
func TestAREXConcurrentUploadsSurviveTokenCheckFailures(t *testing.T) {
	tb := testbed.Require(t)
	var retries atomic.Int32
	c := arcClientDebug(t, tb, func(format string, args ...any) {
		if strings.Contains(fmt.Sprintf(format, args...), "refuses valid tokens now and then") {
			retries.Add(1)
		}
	})
	ctx := context.Background()
	dir := t.TempDir()
	var in strings.Builder
	for i := 0; i < 6; i++ {
		name := fmt.Sprintf("in%d.txt", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&in, `("%s" "")`, name)
	}
	var desc strings.Builder
	desc.WriteString("+")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&desc, `(&(executable="/bin/true")(jobname="conc-%d")(inputfiles=%s))`, i, in.String())
	}
	const rounds = 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	var failures []string
	for r := 0; r < rounds; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs, err := xrsl.Parse("conc.xrsl", []byte(desc.String()))
			if err != nil {
				t.Error(err)
				return
			}
			res, err := c.Submit(ctx, jobs, ce.SubmitOptions{BaseDir: dir})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, err.Error())
			}
			for _, r := range res {
				if r.Job != nil {
					ids = append(ids, r.Job.LocalID)
				}
				if r.Err != nil {
					failures = append(failures, r.Err.Error())
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d jobs, %d uploads; A-REX refused the accepted token %d times (each sent again)", len(ids), len(ids)*6, retries.Load())
	if len(failures) > 0 || len(ids) != rounds*8 {
		t.Errorf("%d of %d jobs created; failures: %v", len(ids), rounds*8, failures)
	}
	if _, err := c.Kill(ctx, ids); err != nil {
		t.Logf("kill: %v", err)
	}
	for _, id := range ids {
		waitTerminal(t, c, id, 3*time.Minute)
	}
	if _, err := c.Clean(ctx, ids); err != nil {
		t.Logf("clean: %v", err)
	}
}
