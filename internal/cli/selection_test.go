package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testissuer"
)

// TestJobSelection: a job is named by its full id, the CE's bare id, a
// prefix only one job has, or its name (all jobs of that name), also from a
// file (-i); an ambiguous prefix or unknown reference is a usage error; -j
// pointed at the ARC client's jobs.dat says so and suggests sync.
func TestJobSelection(t *testing.T) {
	ids := []string{"okJob1", "okJob2", "xyzJob3"}
	srv, caDir := hostileAREX(t, ids...)
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.read", Lifetime: time.Hour})
	vars := map[string]string{"BEARER_TOKEN": tok}
	dir := t.TempDir()
	list := filepath.Join(dir, "jobs.db")
	ceURL := srv.URL + "/arex"
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		name := "alpha"
		if i == 2 {
			name = "beta"
		}
		if _, err := st.Add(context.Background(), jobstore.Job{ID: ceURL + "/rest/1.0/jobs/" + id, LocalID: id, CE: ceURL, Flavour: "arc", Name: name, Submitted: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	idFile := filepath.Join(dir, "ids")
	_ = os.WriteFile(idFile, []byte("# jobs to look at\n\nxyzJob3\n  okJob1  \n"), 0o644)
	selected := func(args ...string) ([]string, result) {
		r := run(t, vars, append([]string{"status", "-o", "json", "-j", list, "--ca-dir", caDir}, args...)...)
		var doc struct{ Jobs []struct{ ID string } }
		_ = json.Unmarshal([]byte(r.out), &doc)
		var out []string
		for _, j := range doc.Jobs {
			out = append(out, j.ID[strings.LastIndex(j.ID, "/")+1:])
		}
		return out, r
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{ceURL + "/rest/1.0/jobs/okJob2"}, "okJob2"},
		{[]string{"okJob1"}, "okJob1"},
		{[]string{"xyz"}, "xyzJob3"},
		{[]string{"alpha"}, "okJob1 okJob2"},
		{[]string{"-i", idFile}, "xyzJob3 okJob1"},
		{[]string{"beta", "xyzJob3"}, "xyzJob3"},
	} {
		got, r := selected(tc.args...)
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%v: selected %q, want %q (exit %d %s)", tc.args, got, tc.want, r.code, r.err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"okJ"}, `"okJ" is the start of 2 job ids`},
		{[]string{"nope"}, `job "nope" is not in the job list`},
		{[]string{"-i", filepath.Join(dir, "missing")}, "-i: open"},
	} {
		if _, r := selected(tc.args...); r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", tc.args, r.code, r.err, tc.want)
		}
	}
	if r := run(t, vars, "cat", "alpha", "-j", list, "--ca-dir", caDir); r.code != 2 || !strings.Contains(r.err, "names 2 jobs") {
		t.Errorf("cat of a name two jobs have: exit %d %s", r.code, r.err)
	}

	arc := filepath.Join(dir, "jobs.dat")
	db, err := sql.Open("sqlite", arc)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = db.Exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, idfromendpoint TEXT, name TEXT)`)
	db.Close()
	if r := run(t, vars, "status", "-a", "-j", arc); r.code != 2 || !strings.Contains(r.err, "ARC client's job list") || !strings.Contains(r.err, "cesub sync -C CE") {
		t.Errorf("-j jobs.dat: exit %d %s", r.code, r.err)
	}
}

// TestSeveralCEsInParallel: with three CEs that accept TCP and never answer
// and one that works, ping and status ask them all at once, each within
// its own time limit: the working CE answers, the command ends after about
// one time limit (it took the sum, and a fourth CE was never tried).
func TestSeveralCEsInParallel(t *testing.T) {
	srv, caDir := hostileAREX(t, "goodJob1")
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.read", Lifetime: time.Hour})
	dir := t.TempDir()
	list := filepath.Join(dir, "jobs.db")
	vars := map[string]string{"BEARER_TOKEN": tok}
	var hung []string
	for i := 0; i < 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(io.Discard, c) }() // never answers
			}
		}()
		hung = append(hung, "https://"+ln.Addr().String()+"/arex")
	}
	good := srv.URL + "/arex"
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range append(append([]string{}, hung...), good) {
		id := fmt.Sprintf("job%d", i)
		if c == good {
			id = "goodJob1"
		}
		if _, err := st.Add(context.Background(), jobstore.Job{ID: c + "/rest/1.0/jobs/" + id, LocalID: id, CE: c, Flavour: "arc", Submitted: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	const limit = time.Second
	args := []string{"--timeout", limit.String(), "--ca-dir", caDir, "-j", list}
	var pingArgs []string
	for _, c := range append(append([]string{}, hung...), good) {
		pingArgs = append(pingArgs, "-C", c)
	}
	t0 := time.Now()
	r := run(t, vars, append(append([]string{"ping", "-o", "json"}, pingArgs...), args...)...)
	took := time.Since(t0)
	if r.code != 3 || strings.Count(r.out, `"admitted": true`) != 1 || took > 3*limit {
		t.Errorf("ping of 3 hung CEs and a good one: exit %d after %s\n%s%s", r.code, took.Round(time.Millisecond), r.out, r.err)
	}
	t0 = time.Now()
	r = run(t, vars, append([]string{"status", "-a", "-o", "json"}, args...)...)
	took = time.Since(t0)
	if r.code != 3 || !strings.Contains(r.out, `"state": "FINISHED"`) || took > 3*limit {
		t.Errorf("status over 3 hung CEs and a good one: exit %d after %s\n%s%s", r.code, took.Round(time.Millisecond), r.out, r.err)
	}
	t.Logf("ping and status of 4 CEs, 3 silent, --timeout %s: status took %s", limit, took.Round(time.Millisecond))
}
