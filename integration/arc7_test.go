package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/internal/testissuer"
)

func arc7Env(t *testing.T, tb *testbed.Env, dir string) map[string]string {
	return map[string]string{"BEARER_TOKEN_FILE": tb.Get(t, "CESUB_TESTBED_ARC7_TOKEN_FILE"),
		"CESUB_JOBLIST": filepath.Join(dir, "jobs.db"), "XDG_RUNTIME_DIR": t.TempDir()}
}

// TestARC7LifecycleTokenDelegation: REST 1.1 on A-REX 7 with a token only and
// a token delegation.
func TestARC7LifecycleTokenDelegation(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "ARC7", func(t *testing.T, tb *testbed.Env) {
		dir := t.TempDir()
		env := arc7Env(t, tb, dir)
		r := cesub(t, tb, env, "ping", "-C", tb.Get(t, "CESUB_TESTBED_ARC7_URL"), "-o", "json")
		if r.code != 0 || !strings.Contains(r.out, `"1.1"`) {
			t.Fatalf("ping: %d %s %s", r.code, r.out, r.err)
		}
		runLifecycle(t, tb, dir, env, "token", arex7(t, tb))
	})
}

// TestARC7LifecycleX509Delegation: token authentication, X.509 proxy delegated.
func TestARC7LifecycleX509Delegation(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := arc7Env(t, tb, dir)
	env["X509_USER_PROXY"] = makeProxy(t, tb, dir)
	runLifecycle(t, tb, dir, env, "x509", arex7(t, tb))
}

// TestARC7Instances: --instances 3 makes three jobs in one request, each recorded once.
func TestARC7Instances(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "ARC7", func(t *testing.T, tb *testbed.Env) {
		dir := t.TempDir()
		env := arc7Env(t, tb, dir)
		r := cesub(t, tb, env, "--debug", "submit", "-C", tb.Get(t, "CESUB_TESTBED_ARC7_URL"), "--instances", "3", "-o", "json",
			"-e", `&(executable="/bin/echo")(arguments="x")(stdout="out")(jobname="inst")`)
		if r.code != 0 {
			t.Fatalf("submit: %d %s", r.code, r.err)
		}
		if !strings.Contains(r.err, "/rest/1.1/jobs?action=new&instances=3") {
			t.Errorf("not one 1.1 request with instances=3:\n%s", r.err)
		}
		var sub struct{ Jobs []struct{ ID, Name string } }
		if err := json.Unmarshal([]byte(r.out), &sub); err != nil || len(sub.Jobs) != 3 {
			t.Fatalf("submit JSON: %v %s", err, r.out)
		}
		seen := map[string]bool{}
		for _, j := range sub.Jobs {
			if seen[j.ID] || !strings.Contains(j.ID, "/rest/1.1/jobs/") || j.Name != "inst" {
				t.Errorf("job %+v", j)
			}
			seen[j.ID] = true
		}
		r = cesub(t, tb, env, "status", "-a", "-o", "json")
		var st struct{ Jobs []struct{ ID, State string } }
		if err := json.Unmarshal([]byte(r.out), &st); err != nil || len(st.Jobs) != 3 {
			t.Fatalf("status: %v %s %s", err, r.out, r.err)
		}
		if r = cesub(t, tb, env, "kill", "-a"); r.code != 0 && r.code != 3 {
			t.Errorf("kill -a: %d %s", r.code, r.err)
		}
		cleanEventually(t, tb, env)
	})
}

// cleanEventually cleans all jobs of the list, waiting for running ones to end.
func cleanEventually(t *testing.T, tb *testbed.Env, env map[string]string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := cesub(t, tb, env, "clean", "-a")
		if r.code == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(3 * time.Second)
	}
}

// TestARC7PerOperationScopes: under tokenscopes=wlcg a compute.read token may
// read but not submit (exit 4, naming the scope); ping explains a
// multi-scope claim in the form this ARC 7 version does not honour.
func TestARC7PerOperationScopes(t *testing.T) {
	testbed.EachVersion(t, testbed.Require(t), "ARC7", func(t *testing.T, tb *testbed.Env) {
		dir := t.TempDir()
		key, err := testissuer.LoadKeyFile(tb.Get(t, "CESUB_TESTBED_SIGNKEY"))
		if err != nil {
			t.Fatal(err)
		}
		url := tb.Get(t, "CESUB_TESTBED_ARC7_URL")
		aud := strings.TrimSuffix(url, "/arex")
		base := testissuer.Claims{Issuer: tb.Get(t, "CESUB_TESTBED_ISSUER"), Subject: "cesub-test-user", Audience: []string{aud},
			Groups: []string{"/wlcg/pilots"}, Lifetime: time.Hour, NotBefore: -time.Minute}
		mint := func(name string, c testissuer.Claims) map[string]string {
			tok, err := key.Mint(c)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, name)
			_ = os.WriteFile(f, []byte(tok), 0o600)
			return map[string]string{"BEARER_TOKEN_FILE": f, "CESUB_JOBLIST": filepath.Join(dir, name+".db")}
		}
		readOnly := base
		readOnly.Scope = "compute.read"
		env := mint("read", readOnly)
		if r := cesub(t, tb, env, "ping", "-C", url); r.code != 0 {
			t.Fatalf("compute.read token not admitted for reading: %d %s %s", r.code, r.out, r.err)
		}
		r := cesub(t, tb, env, "submit", "-C", url, "-e", `&(executable="/bin/true")`)
		if r.code != 4 || !strings.Contains(r.err, "scope") {
			t.Fatalf("submit with compute.read only: exit %d, want 4 naming the scope: %s", r.code, r.err)
		}
		// the multi-scope form this version ignores
		wrongForm := base
		wrongForm.Scope = "compute.create compute.read" // read second: 7.2 reads only the first of an array
		wrongForm.ScopeArray = tb.Get(t, "CESUB_TESTBED_ARC7_SCOPE_FORM") != "array"
		r = cesub(t, tb, mint("form", wrongForm), "ping", "-C", url, "-o", "json")
		if r.code != 4 || !strings.Contains(r.out, "tokenscopes=wlcg") {
			t.Fatalf("ping with a %v-form scope: exit %d, want 4 with a scope-form hint: %s %s", wrongForm.ScopeArray, r.code, r.out, r.err)
		}
	})
}

// TestARC7LifecycleProxyOnly: no token anywhere; ARC 7 admits the proxy over TLS.
func TestARC7LifecycleProxyOnly(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := map[string]string{"CESUB_JOBLIST": filepath.Join(dir, "jobs.db"), "XDG_RUNTIME_DIR": t.TempDir(),
		"X509_USER_PROXY": makeProxy(t, tb, dir)}
	runLifecycle(t, tb, dir, env, "auto", arex7(t, tb))
}

// TestSyncRebuildsJobList: a job submitted with one job list is found by
// `sync` into an empty one, once, however often sync runs.
func TestSyncRebuildsJobList(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	env := arc7Env(t, tb, dir)
	url := tb.Get(t, "CESUB_TESTBED_ARC7_URL")
	r := cesub(t, tb, env, "submit", "-C", url, "-e", `&(executable="/bin/true")(jobname="sync")`)
	if r.code != 0 {
		t.Fatalf("submit: %d %s", r.code, r.err)
	}
	id := strings.TrimSpace(r.out)
	fresh := arc7Env(t, tb, t.TempDir())
	for i := 0; i < 2; i++ {
		r = cesub(t, tb, fresh, "sync", "-C", url, "-o", "json")
		var s struct {
			CEs []struct {
				Found, Added int
				Error        string
			}
		}
		if r.code != 0 || json.Unmarshal([]byte(r.out), &s) != nil || len(s.CEs) != 1 || s.CEs[0].Found < 1 {
			t.Fatalf("sync %d: %d %s %s", i, r.code, r.out, r.err)
		}
		if i == 1 && s.CEs[0].Added != 0 {
			t.Errorf("a second sync added %d jobs again", s.CEs[0].Added)
		}
	}
	r = cesub(t, tb, fresh, "status", "-a", "-o", "json")
	if !strings.Contains(r.out, id) {
		t.Errorf("synced job list lacks %s: %s", id, r.out)
	}
	// a CE that refuses: exit 4 from sync
	if r = cesub(t, tb, jobEnv(t, tb, filepath.Join(dir, "other.db")), "sync", "-C", url); r.code != 4 {
		t.Errorf("sync with a token for another CE: exit %d, want 4: %s", r.code, r.err)
	}
	cleanEventually(t, tb, env)
}
