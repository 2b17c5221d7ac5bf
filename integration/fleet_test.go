package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testbed"
	"github.com/cesub/cesub/pkg/ce"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// TestFleetOnPostgres: 4 simulated hosts (own HOME and XDG folders, own
// host name, own process trees) × 10 processes run submit --count, status,
// get -a, kill and sync for CESUB_FLEET_DURATION (default 2m) against one
// PostgreSQL job list, on the real A-REX 6.17 and HTCondor-CE: afterwards
// the CEs hold exactly the list's jobs, none lost or twice, and once every
// job is fetched, each one's outputs were downloaded by exactly one host.
// Then the same with the PostgreSQL server stopped for 20 s in the middle
// (pg_ctl stop, start): commands fail cleanly (exit 1, one line) or
// retry, nothing is lost, and the jobs whose answers came during the
// outage are recovered by sync.
func TestFleetOnPostgres(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	pg := testbed.Postgres(t)
	d := 2 * time.Minute
	if s := os.Getenv("CESUB_FLEET_DURATION"); s != "" {
		if v, err := time.ParseDuration(s); err == nil {
			d = v
		}
	}
	for _, outage := range []bool{false, true} {
		f := newFleet(t, tb, pg, outage)
		f.run(t, d)
		f.settle(t)
		f.drain(t)
		t.Logf("%s: %d commands (exit codes %v), %d jobs submitted, %d downloaded; what they said of the job list:\n%s",
			f.name, f.commands, f.codes, len(f.submitted), len(f.downloads(t)), f.saidOfList())
	}
}

// fleet is one run: the job list (a fresh schema), the CEs with their
// tokens, the hosts, and what the commands did.
type fleet struct {
	name, bin, list, password string
	outage                    bool
	arex, condor              fleetCE
	hosts                     []fleetHost

	mu        sync.Mutex
	log       []string // every command's stderr lines, "host: args: line"
	commands  int
	codes     map[int]int
	submitted map[string]bool
}

type fleetCE struct{ url, token string }

type fleetHost struct{ name, dir, get, keys string }

func newFleet(t *testing.T, tb *testbed.Env, pg map[string]string, outage bool) *fleet {
	name := "fleet"
	if outage {
		name = "fleet-outage"
	}
	url := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	arex := arcCrashCE(tb, url, strings.TrimSuffix(url, "/arex"), false)
	f := &fleet{name: name, bin: cesubBinary(t), outage: outage, codes: map[int]int{}, submitted: map[string]bool{},
		arex:   fleetCE{url: url, token: arex.token(t, name)},
		condor: fleetCE{url: tb.Get(t, "CESUB_TESTBED_CONDOR_CE"), token: tb.Get(t, "CESUB_TESTBED_CONDOR_TOKEN_FILE")}}
	f.list, f.password = freshSchema(t, pg)
	for i := 0; i < 4; i++ {
		dir := t.TempDir()
		f.hosts = append(f.hosts, fleetHost{name: fmt.Sprintf("%s-host%d.cesub.test", name, i), dir: dir,
			get: filepath.Join(dir, "get"), keys: filepath.Join(dir, "keys")})
	}
	t.Cleanup(func() { f.cleanup(t) })
	return f
}

// freshSchema makes a schema of its own in the testbed's database and
// returns the job list URL for it (its pgpass file named in it) and the
// password (which no output may show).
func freshSchema(t *testing.T, pg map[string]string) (string, string) {
	t.Helper()
	base, passfile := pg["CESUB_TESTBED_POSTGRES_URL"], pg["PGPASSFILE"]
	url := base + "&passfile=" + passfile
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("fleet_%x", rand.Uint64())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	return url + "&search_path=" + schema, jobstore.Password(url)
}

// cmd is cesub run on host h with ce's token.
func (f *fleet) cmd(h fleetHost, c fleetCE, args ...string) *exec.Cmd {
	cmd := exec.Command(f.bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+h.dir, "XDG_CONFIG_HOME="+h.dir+"/config", "XDG_DATA_HOME="+h.dir+"/data",
		"XDG_CACHE_HOME="+h.dir+"/cache", "XDG_RUNTIME_DIR="+h.dir, "CESUB_JOBLIST="+f.list, "CESUB_TEST_HOSTNAME="+h.name,
		"CESUB_TEST_KEYS="+h.keys, "BEARER_TOKEN_FILE="+c.token, "CESUB_TIMEOUT=60s")
	return cmd
}

// exec runs a command and checks that it ended cleanly: 0, 1 or 3, no
// panic, the password nowhere; it returns stdout and the exit code.
func (f *fleet) exec(t *testing.T, h fleetHost, c fleetCE, args ...string) (string, int) {
	cmd := f.cmd(h, c, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// a CE the other tests keep busy can stall a command: after 2 minutes it
	// is stopped as a user would (SIGTERM; what it submitted stays pending)
	stall := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if !stall.Stop() {
		t.Logf("%s: cesub %v took over 2 minutes (the CE is busy): stopped with SIGTERM, exit %d", h.name, args, code)
		return out.String(), code
	}
	if err != nil && code < 0 {
		t.Errorf("%s: %v: %v", h.name, args, err)
	}
	stderr := errb.String()
	switch {
	case code != 0 && code != 1 && code != 3:
		t.Errorf("%s: cesub %v: exit %d: %.500s", h.name, args, code, stderr)
	case strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine "):
		t.Errorf("%s: cesub %v crashed: %.2000s", h.name, args, stderr)
	case f.password != "" && strings.Contains(stderr+out.String(), f.password):
		t.Errorf("%s: cesub %v printed the job list's password", h.name, args)
	}
	f.mu.Lock()
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l != "" {
			f.log = append(f.log, fmt.Sprintf("%s: %v: %s", h.name, args[:min(2, len(args))], l))
		}
	}
	f.commands++
	f.codes[code]++
	f.mu.Unlock()
	return out.String(), code
}

// run lets 10 processes per host loop over the mixed commands for d; with
// an outage the server is stopped for 20 s half-way.
func (f *fleet) run(t *testing.T, d time.Duration) {
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for i, h := range f.hosts {
		for p := 0; p < 10; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; time.Now().Before(end); n++ {
					f.step(t, h, fmt.Sprintf("%s-h%dp%d-%d", f.name, i, p, n))
					time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
				}
			}()
		}
	}
	if f.outage {
		time.Sleep(d / 2)
		root, _ := testbed.RepoRoot()
		restart := exec.Command(filepath.Join(root, "scripts", "testbed", "postgres"), "restart")
		restart.Env = append(os.Environ(), "CESUB_POSTGRES_OUTAGE=20")
		out, err := restart.CombinedOutput()
		if err != nil {
			t.Errorf("postgres restart: %v %s", err, out)
		}
	}
	wg.Wait()
}

// step is one command of a process: submit, status, get -a (either CE),
// kill or sync (A-REX: its listing is this run's identity alone).
func (f *fleet) step(t *testing.T, h fleetHost, name string) {
	c := f.arex
	if rand.IntN(2) == 0 {
		c = f.condor
	}
	switch r := rand.IntN(100); {
	case r < 30:
		out, code := f.exec(t, h, c, "submit", "-C", c.url, "--count", "3", "-e", `&(executable="/bin/true")(jobname="`+name+`")`)
		if code == 0 {
			f.record(out)
		}
	case r < 55:
		f.exec(t, h, c, "status", "-a", "-C", c.url)
	case r < 80:
		f.exec(t, h, c, "get", "-a", "-C", c.url, "-D", h.get)
	case r < 90:
		f.exec(t, h, f.arex, "kill", "-a", "-C", f.arex.url, "--state", "accepted,preparing,queuing")
	default:
		f.exec(t, h, f.arex, "sync", "-C", f.arex.url)
	}
}

func (f *fleet) record(out string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range strings.Fields(out) {
		if strings.Contains(l, "://") {
			f.submitted[l] = true
		}
	}
}

// settle resolves what the run left pending, then compares the CEs with the
// job list: the same jobs, each once, and every job a submit reported.
func (f *fleet) settle(t *testing.T) {
	h := f.hosts[0]
	for _, c := range []fleetCE{f.arex, f.condor} {
		f.exec(t, h, c, "sync", "--pending")
	}
	f.exec(t, h, f.arex, "sync", "-C", f.arex.url)
	// A-REX lists a job a get cleaned until its job loop removes it: under
	// load that takes a while. A job the list remembers as cleaned (the CE
	// accepted the clean) is not counted; it is logged.
	var list map[string]int
	var onCE map[string]bool
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(3 * time.Second) {
		list, onCE = listed(t, f.list), f.onCEs(t)
		same := len(list) == len(onCE)
		for id := range onCE {
			same = same && list[id] == 1
		}
		if same || time.Now().After(end) {
			break
		}
	}
	cleaned := f.cleaned(t)
	for id := range onCE {
		if list[id] == 0 && cleaned[id] {
			t.Logf("%s: %s was cleaned (the CE accepted it) and is still listed by the CE", f.name, id)
			delete(onCE, id)
		}
	}
	sameSet(t, f.name+": the CEs and the job list", onCE, list)
	for id := range onCE {
		if list[id] == 0 {
			t.Logf("%s: on the CE, not on the list: %s; the commands said:\n%s", f.name, id, f.said(localOf(id)))
		}
	}
	for id := range list {
		if !onCE[id] {
			t.Logf("%s: on the list, not on the CE: %s; the commands said:\n%s", f.name, id, f.said(localOf(id)))
		}
	}
	downloaded := f.downloads(t)
	for id := range f.submitted {
		if list[id] == 0 && downloaded[localOf(id)] == 0 {
			t.Errorf("%s: job %s was submitted and is neither on the list nor downloaded: lost", f.name, id)
		}
	}
	if n := pendingRows(t, f.list); n != 0 {
		t.Errorf("%s: %d pending submissions left after sync --pending", f.name, n)
	}
}

// cleaned are the jobs the list remembers as cleaned from their CE.
func (f *fleet) cleaned(t *testing.T) map[string]bool {
	db, err := sql.Open("pgx", f.list)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id FROM cleaned`)
	if err != nil {
		t.Fatalf("the job list's cleaned jobs: %v", err)
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		m[id] = true
	}
	return m
}

// onCEs are the jobs the CEs hold of this run: A-REX's listing for the
// run's identity, and the HTCondor-CE's queue of the submissions the hosts
// wrote ahead (CESUB_TEST_KEYS).
func (f *fleet) onCEs(t *testing.T) map[string]bool {
	m := map[string]bool{}
	b, _ := backendFor(t, testbed.Require(t), f.arex.url, f.arex.token)
	jobs, err := b.List(context.Background())
	if err != nil {
		t.Fatalf("list A-REX's jobs: %v", err)
	}
	for _, j := range jobs {
		m[j.ID] = true
	}
	for id := range f.condorQueue(t) {
		m[id] = true
	}
	return m
}

func (f *fleet) condorQueue(t *testing.T) map[string]bool {
	var keys []string
	for _, h := range f.hosts {
		keys = append(keys, runKeys(t, &crashRun{keys: h.keys})...)
	}
	m := map[string]bool{}
	if len(keys) == 0 {
		return m
	}
	tb := testbed.Require(t)
	constraint := fmt.Sprintf(`member(CesubSubmission, {"%s"}) && JobStatus != 3`, strings.Join(keys, `","`))
	out, err := exec.Command("chroot", tb.Get(t, "CESUB_TESTBED_CONDOR_ROOT"), "condor_q", "-allusers", "-constraint", constraint,
		"-af", "ClusterId", "ProcId").CombinedOutput()
	if err != nil {
		t.Fatalf("condor_q: %v %s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if fl := strings.Fields(line); len(fl) == 2 {
			m[strings.TrimSuffix(f.condor.url, "/")+"/"+fl[0]+"."+fl[1]] = true
		}
	}
	return m
}

// drain kills what runs on A-REX and fetches everything from all hosts at
// once until the list is empty: then each job was downloaded exactly once.
func (f *fleet) drain(t *testing.T) {
	all := map[string]bool{}
	for id := range listed(t, f.list) {
		all[localOf(id)] = true
	}
	for id := range f.submitted {
		all[localOf(id)] = true
	}
	f.exec(t, f.hosts[0], f.arex, "kill", "-a", "-C", f.arex.url)
	// what is left must still be waiting or running on its CE (a busy
	// HTCondor-CE may not have run the last minute's jobs yet): never a
	// finished job that no host fetched (one that ended during the last
	// rounds is fetched by more rounds)
	var waiting map[string]bool
	finished := 0
	for round := 0; round < 3; round++ {
		f.fetchRounds(t)
		for _, c := range []fleetCE{f.arex, f.condor} {
			f.exec(t, f.hosts[0], c, "status", "-a", "-C", c.url)
		}
		if waiting, finished = f.unfinished(t, false); finished == 0 {
			break
		}
	}
	if finished > 0 {
		// jobs the last status found finished: one more fetch, and then
		// none may be left (the list keeps the states that status saw)
		f.fetchRounds(t)
		waiting, _ = f.unfinished(t, true)
	}
	got := f.downloads(t)
	for id := range all {
		switch {
		case waiting[id] && got[id] == 0:
		case waiting[id]:
			t.Errorf("%s: job %s is on the list and was downloaded %d times", f.name, id, got[id])
		case got[id] != 1:
			t.Errorf("%s: job %s downloaded %d times, want 1; what the commands said of it:\n%s", f.name, id, got[id], f.said(id))
		}
	}
	if len(waiting) > 0 {
		t.Logf("%s: %d jobs still waiting on their CE after the drain (not fetched, killed at the end)", f.name, len(waiting))
	}
	for id, n := range got {
		if !all[id] {
			t.Errorf("%s: %s downloaded (%d times) but never listed or submitted", f.name, id, n)
		}
	}
}

// fetchRounds runs get -a on every host and CE at once, round after round.
func (f *fleet) fetchRounds(t *testing.T) {
	// rounds of get -a from every host at once, until three rounds in a row
	// fetch nothing (what is left waits on its CE) or 60 s
	for idle, end := 0, time.Now().Add(60*time.Second); idle < 3 && time.Now().Before(end); {
		before := len(f.downloads(t))
		var wg sync.WaitGroup
		for _, h := range f.hosts {
			for _, c := range []fleetCE{f.arex, f.condor} {
				wg.Add(1)
				go func() { defer wg.Done(); f.exec(t, h, c, "get", "-a", "-C", c.url, "-D", h.get) }()
			}
		}
		wg.Wait()
		if idle++; len(f.downloads(t)) > before || len(listed(t, f.list)) == 0 {
			idle = 0
		}
		if len(listed(t, f.list)) == 0 {
			break
		}
		time.Sleep(3 * time.Second)
	}
}

// unfinished are the local ids of the jobs left on the list, and how many
// of them are in a final state (which get should fetch): with final, each
// such job is an error.
func (f *fleet) unfinished(t *testing.T, final bool) (map[string]bool, int) {
	st, err := jobstore.Open(context.Background(), f.list)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, _ := st.List(context.Background(), jobstore.Filter{})
	m := map[string]bool{}
	finished := 0
	for _, j := range jobs {
		m[j.LocalID] = true
		if !ce.State(j.State).Terminal() {
			continue
		}
		finished++
		if final {
			t.Errorf("%s: %s is %s and still on the list after the drain; the commands said:\n%s", f.name, j.ID, j.State, f.said(j.LocalID))
		}
	}
	return m, finished
}

// saidOfList is the distinct messages about the job list itself (the
// server down, a retry), without the job ids.
func (f *fleet) saidOfList() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]int{}
	for _, l := range f.log {
		if strings.Contains(l, "job list postgres") || strings.Contains(l, "job list:") {
			seen[l[strings.Index(l, "]: ")+3:]]++
		}
	}
	var out []string
	for l, n := range seen {
		out = append(out, fmt.Sprintf("  %dx %s", n, l))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// said is what the commands printed about a job.
func (f *fleet) said(local string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if strings.Contains(l, local) {
			out = append(out, "  "+l)
		}
	}
	return strings.Join(out, "\n")
}

// downloads counts each job's complete output folders (no .cesub-get
// marker: an interrupted download leaves one) across the hosts' get folders.
func (f *fleet) downloads(t *testing.T) map[string]int {
	n := map[string]int{}
	for _, h := range f.hosts {
		ents, err := os.ReadDir(h.get)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(h.get, e.Name(), ".cesub-get")); e.IsDir() && os.IsNotExist(err) {
				n[e.Name()]++
			}
		}
	}
	return n
}

// localOf is a job id's last part (A-REX's job id, HTCondor's cluster.proc),
// the name of its output folder.
func localOf(id string) string { return id[strings.LastIndex(id, "/")+1:] }

// cleanup removes what is left on the CEs (best effort).
func (f *fleet) cleanup(t *testing.T) {
	for _, c := range []fleetCE{f.arex, f.condor} {
		_ = f.cmd(f.hosts[0], c, "kill", "-a", "-C", c.url).Run()
		_ = f.cmd(f.hosts[0], c, "clean", "-a", "-C", c.url, "--forget").Run()
	}
}
