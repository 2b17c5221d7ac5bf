package cli

// Security regressions through the whole command, against a FAKE A-REX
// (httptest): answers no real A-REX gives.

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testissuer"
)

// hostileAREX answers every job request with the ids given, and serves a
// session with one file for any job.
func hostileAREX(t *testing.T, ids ...string) (*httptest.Server, string) {
	t.Helper()
	entries := func(code string) string {
		var b strings.Builder
		for i, id := range ids {
			if i > 0 {
				b.WriteString(",")
			}
			js, _ := json.Marshal(id)
			b.WriteString(`{"status-code":"` + code + `","reason":"OK","id":` + string(js) + `,"state":"FINISHED"}`)
		}
		return `{"job":[` + b.String() + `]}`
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/arex/rest":
			_, _ = io.WriteString(w, `{"version":["1.0"]}`)
		case r.URL.Path == "/arex/rest/1.0/jobs" && r.URL.Query().Get("action") == "new":
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, entries("201"))
		case r.URL.Path == "/arex/rest/1.0/jobs" && r.URL.Query().Get("action") != "":
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, entries("200"))
		case r.URL.Path == "/arex/rest/1.0/jobs":
			_, _ = io.WriteString(w, entries("200"))
		case strings.HasSuffix(r.URL.Path, "/session/"):
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, `<ActivityInfo><file size="5">out.txt</file></ActivityInfo>`)
		case strings.HasSuffix(r.URL.Path, "/session/out.txt"):
			_, _ = io.WriteString(w, "owned")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	caDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(caDir, "test.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caDir
}

// TestHostileJobIDs: ids a CE returns that are not A-REX ids ("../../x",
// "a?b=c", spaces) are never recorded, and a download never leaves -D,
// even for such an id already on the job list.
func TestHostileJobIDs(t *testing.T) {
	hostile := []string{"../../escape", "a?b=c", "with space", "okJob1"}
	srv, caDir := hostileAREX(t, hostile...)
	k := mintKey(t)
	tok := mint(t, k, testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.create compute.read compute.modify compute.cancel", Lifetime: time.Hour})
	work := t.TempDir()
	list := filepath.Join(work, "jobs.db")
	desc := filepath.Join(work, "job.xrsl")
	if err := os.WriteFile(desc, []byte("+"+strings.Repeat("(&(executable=/bin/true))", len(hostile))), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"BEARER_TOKEN": tok}
	ceURL := srv.URL + "/arex"
	common := []string{"-j", list, "--ca-dir", caDir, "-C", ceURL}

	r := run(t, vars, append([]string{"submit", "-f", desc}, common...)...)
	if r.code != 3 || !strings.Contains(r.out, "/okJob1") || strings.Contains(r.out, "escape") {
		t.Fatalf("submit with hostile ids: exit %d\nout: %s\nerr: %s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.err, `unusable job id "../../escape"`) {
		t.Errorf("submit does not say which id it refused: %s", r.err)
	}
	ids := func() []string {
		st, err := jobstore.Open(context.Background(), list)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		jobs, err := st.List(context.Background(), jobstore.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range jobs {
			out = append(out, j.LocalID)
		}
		return out
	}
	if got := ids(); len(got) != 1 || got[0] != "okJob1" {
		t.Fatalf("job list after submit: %q, want only okJob1", got)
	}

	r = run(t, vars, append([]string{"sync"}, common...)...)
	if got := ids(); len(got) != 1 || got[0] != "okJob1" || !strings.Contains(r.err, "not added") {
		t.Fatalf("job list after sync: %q (stderr %s)", got, r.err)
	}

	// a list written before ids were checked
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Add(context.Background(), jobstore.Job{ID: ceURL + "/rest/1.0/jobs/../../escape", LocalID: "../../escape", CE: ceURL, Flavour: "arc", Submitted: time.Now()})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(work, "a", "b", "dl")
	r = run(t, vars, "get", "-a", "-D", dl, "-j", list, "--ca-dir", caDir)
	if _, err := os.Stat(filepath.Join(work, "a", "escape")); err == nil {
		t.Fatalf("get wrote outside -D (%s): %s", dl, r.err)
	}
	if !strings.Contains(r.err, "not downloaded") {
		t.Errorf("get does not say why the job was skipped: %s", r.err)
	}
	if b, err := os.ReadFile(filepath.Join(dl, "okJob1", "out.txt")); err != nil || string(b) != "owned" {
		t.Errorf("the valid job was not downloaded: %v %q (stderr %s)", err, b, r.err)
	}
}
