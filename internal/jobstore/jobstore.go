// Package jobstore is cesub's job list: an SQLite database (pure Go) in WAL
// mode with a busy timeout, so that many cesub processes can record and
// update jobs at once, or a PostgreSQL database (pgx) that the processes of
// many hosts share (postgres.go). A job is recorded exactly once (its id is the
// primary key); what a CE offers (its API version) is remembered per CE.
// A submission request is written ahead as pending (its key, CE and job
// count) and turned into jobs when answered or recovered (pending.go).
//
// Both engines have one schema, brought up to date by versioned migrations
// the first time a newer cesub opens a list (schema.go); the statements are
// written once, and a small dialect says what differs (dialect.go). A job
// being fetched is claimed by one process (claim.go); a list is copied
// between engines without losing a field (copy.go).
package jobstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Job is one recorded job.
type Job struct {
	ID           string    `json:"id"`
	LocalID      string    `json:"local_id"`
	CE           string    `json:"ce"`
	Flavour      string    `json:"flavour"`
	Name         string    `json:"name,omitempty"`
	Submitted    time.Time `json:"submitted"`
	Description  string    `json:"-"` // the job model as JSON
	DelegationID string    `json:"delegation_id,omitempty"`
	State        string    `json:"state,omitempty"`
	ExitCode     *int      `json:"exit_code,omitempty"`
	Updated      time.Time `json:"updated"` // when the state on record last changed
}

// Store is an open job list.
type Store struct {
	db   *sql.DB
	d    dialect
	path string // the file, or the server's URL without its password
	fix  ModeFix
}

// DefaultPath is $XDG_DATA_HOME/cesub/jobs.db (~/.local/share/cesub/jobs.db).
func DefaultPath(getenv func(string) string, home string) string {
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "cesub", "jobs.db")
	}
	return filepath.Join(home, ".local", "share", "cesub", "jobs.db")
}

// Open opens (creating) the job list at path: a file, or a PostgreSQL
// server's URL or keyword/value string (see IsPostgres). A file must be the
// user's own (see claim); one other users could read is made 0600 (see
// ModeFix).
func Open(ctx context.Context, path string) (*Store, error) {
	if IsPostgres(path) {
		return openPostgres(ctx, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("job list %s: %w", path, err)
	}
	// SQLite gives the -wal and -shm files the mode of the database file:
	// a new list is made 0600 before SQLite opens it, so they are too
	claimed, fix, err := claim(path)
	if err == nil {
		err = checkSideFiles(path)
	}
	if err != nil {
		return nil, fmt.Errorf("job list %w", err)
	}
	if err := checkOwn(ctx, path); err != nil {
		return nil, err
	}
	// before SQLite opens anything: closing any descriptor of a file drops
	// every POSIX lock this process holds on it, SQLite's included
	tightenSideFiles(path)
	s, err := openDB(ctx, path, claimed)
	if err != nil {
		return nil, fmt.Errorf("job list %s: %w", path, err)
	}
	s.fix = fix
	return s, nil
}

func openDB(ctx context.Context, path string, claimed fs.FileInfo) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(15000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection per process; processes share the file through SQLite's locks
	s := &Store{db: db, d: sqliteDialect, path: path}
	if err := s.initSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := stillClaimed(path, claimed); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// ModeFix says whether Open made a loose job list 0600.
func (s *Store) ModeFix() ModeFix { return s.fix }

// initSchema brings the schema up to date. When many processes open a new
// job list at once, switching it to WAL and creating the schema can fail
// with SQLITE_BUSY without SQLite's busy handler being asked; that is
// retried with a jittered pause for up to the busy timeout.
func (s *Store) initSchema(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 0; ; attempt++ {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		pause := time.Duration(10+rand.IntN(40)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

func isBusy(err error) bool {
	m := err.Error()
	return strings.Contains(m, "SQLITE_BUSY") || strings.Contains(m, "database is locked")
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file, or the server's URL without its password.
func (s *Store) Path() string { return s.path }

// Add records jobs in one transaction; a job already recorded is left as it
// is (never recorded twice). It returns how many were new.
func (s *Store) Add(ctx context.Context, jobs ...Job) (n int, err error) {
	err = s.retry(ctx, func() (err error) {
		n, err = s.add(ctx, jobs)
		return err
	})
	return n, err
}

func (s *Store) add(ctx context.Context, jobs []Job) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("job list: %w", err)
	}
	defer tx.Rollback()
	n, err := s.addTx(ctx, tx, jobs)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("job list: %w", err)
	}
	return n, nil
}

// CleanedMemory is how long a job cleaned from its CE is not added back
// (a CE may list a cleaned job for a while: sync on another host would
// record it again, and a get there download it twice).
const CleanedMemory = time.Hour

// addTx inserts the jobs not yet recorded, nor cleaned lately, within tx;
// it returns how many were new.
func (s *Store) addTx(ctx context.Context, tx *sql.Tx, jobs []Job) (int, error) {
	if len(jobs) == 0 {
		return 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, s.d.q(`INSERT INTO jobs
	  (id, local_id, ce, flavour, name, submitted, description, delegation_id, state, exit_code, updated)
	  SELECT ?,?,?,?,?,?,?,?,?,?,? WHERE NOT EXISTS (SELECT 1 FROM cleaned WHERE id = ? AND at > ?)
	  ON CONFLICT (id) DO NOTHING`))
	if err != nil {
		return 0, fmt.Errorf("job list: %w", err)
	}
	defer stmt.Close()
	n := 0
	now := time.Now().Unix()
	for _, j := range jobs {
		if j.ID == "" || j.CE == "" {
			return 0, errors.New("job list: a job needs an id and a CE")
		}
		r, err := stmt.ExecContext(ctx, j.ID, j.LocalID, j.CE, j.Flavour, j.Name, j.Submitted.Unix(), j.Description,
			j.DelegationID, j.State, j.ExitCode, now, j.ID, now-int64(CleanedMemory/time.Second))
		if err != nil {
			return 0, fmt.Errorf("job list: record %s: %w", j.ID, err)
		}
		if k, _ := r.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}

// Filter selects jobs; zero fields match everything.
type Filter struct {
	IDs    []string
	CE     string
	States []string
	// WithDescription also reads each job's description (the job model as
	// JSON, ~1 kB a job): only cat needs it; status of 10,000 jobs does not.
	WithDescription bool
}

// List returns matching jobs, oldest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Job, error) {
	q, cond, args := listQuery(f)
	// sized once where counting is cheap: 10,000 jobs grown by append
	// copied ~10 MB
	var n int
	if s.d.countFirst {
		if err := s.queryRow(ctx, "SELECT COUNT(*) FROM jobs"+cond, args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("job list: %w", err)
		}
	}
	rows, err := s.query(ctx, q+cond+" ORDER BY submitted, id", args...)
	if err != nil {
		return nil, fmt.Errorf("job list: %w", err)
	}
	defer rows.Close()
	out := make([]Job, 0, n)
	for rows.Next() {
		var j Job
		var sub, upd int64
		var exit sql.NullInt64
		if err := rows.Scan(&j.ID, &j.LocalID, &j.CE, &j.Flavour, &j.Name, &sub, &j.Description, &j.DelegationID, &j.State, &exit, &upd); err != nil {
			return nil, fmt.Errorf("job list: %w", err)
		}
		j.Submitted, j.Updated = time.Unix(sub, 0).UTC(), time.Unix(upd, 0).UTC()
		if exit.Valid {
			e := int(exit.Int64)
			j.ExitCode = &e
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// listQuery is List's statement for f: the columns, the condition (with
// ? placeholders) and its arguments.
func listQuery(f Filter) (q, cond string, args []any) {
	desc := "''"
	if f.WithDescription {
		desc = "description"
	}
	q = `SELECT id, local_id, ce, flavour, name, submitted, ` + desc + `, delegation_id, state, exit_code, updated FROM jobs`
	var where []string
	if len(f.IDs) > 0 {
		where = append(where, "id IN ("+placeholders(len(f.IDs))+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if f.CE != "" {
		where = append(where, "ce = ?")
		args = append(args, f.CE)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	return q, cond, args
}

// Explain returns the engine's plan for List's query of f, one step a line
// (bench/joblist.sh shows that a selection by state reads an index).
func (s *Store) Explain(ctx context.Context, f Filter) (string, error) {
	q, cond, args := listQuery(f)
	explain := "EXPLAIN "
	if s.d.name == "sqlite" {
		explain = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.query(ctx, explain+q+cond+" ORDER BY submitted, id", args...)
	if err != nil {
		return "", fmt.Errorf("job list: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1])) // SQLite: the detail column; PostgreSQL: the plan line
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// UpdateState records a job's last known state.
func (s *Store) UpdateState(ctx context.Context, id, state string, exit *int) error {
	return s.UpdateStates(ctx, []StateUpdate{{ID: id, State: state, ExitCode: exit}})
}

// StateUpdate is a job's newly seen state. Was, when set, is the job as
// the caller read it from the list: an update that changes nothing of it
// is not sent to the engine at all.
type StateUpdate struct {
	ID       string
	State    string
	ExitCode *int
	Was      *Job
}

// unchanged says that u would write what Was holds already.
func (u StateUpdate) unchanged() bool {
	if u.Was == nil || u.Was.State != u.State {
		return false
	}
	return u.ExitCode == nil || (u.Was.ExitCode != nil && *u.Was.ExitCode == *u.ExitCode)
}

// UpdateStates records many jobs' states in one transaction. A job whose
// state and exit code are those on record is not written (Updated is when
// its state last changed): a status of 10,000 jobs of which few changed
// writes few rows, and those the caller knows unchanged (Was) are not even
// sent. Another process may have written a job since the caller read it;
// its write came from the CE as well, so the row keeps what it says.
func (s *Store) UpdateStates(ctx context.Context, ups []StateUpdate) error {
	changed := make([]StateUpdate, 0, len(ups))
	for _, u := range ups {
		if !u.unchanged() {
			changed = append(changed, u)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return s.retry(ctx, func() error { return s.updateStates(ctx, changed) })
}

func (s *Store) updateStates(ctx context.Context, ups []StateUpdate) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if s.d.batchUpdates {
		if err := s.updateBatches(ctx, tx, ups); err != nil {
			return err
		}
		return tx.Commit()
	}
	st, err := tx.PrepareContext(ctx, s.d.q(`UPDATE jobs SET state = ?, exit_code = COALESCE(?, exit_code), updated = ? WHERE id = ?
	  AND (state IS DISTINCT FROM ? OR (? IS NOT NULL AND exit_code IS DISTINCT FROM ?))`))
	if err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	defer st.Close()
	now := time.Now().Unix()
	for i, u := range ups {
		// The statements run without ctx, which is checked every few hundred
		// instead: the driver watches a context with a goroutine per
		// statement, 2 MB of garbage for the states of 10,000 jobs.
		if i%256 == 0 && ctx.Err() != nil {
			return fmt.Errorf("job list: %w", ctx.Err())
		}
		if _, err := st.ExecContext(context.WithoutCancel(ctx), u.State, u.ExitCode, now, u.ID, u.State, u.ExitCode, u.ExitCode); err != nil {
			return fmt.Errorf("job list: update %s: %w", u.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	return nil
}

// updateBatches writes all the states with one statement on PostgreSQL
// (the ids, states and exit codes as three arrays, unnested): one round
// trip rather than one per job (a server's round trip is ~100 µs; SQLite's
// statement a few µs).
func (s *Store) updateBatches(ctx context.Context, tx *sql.Tx, ups []StateUpdate) error {
	ids := make([]string, len(ups))
	states := make([]string, len(ups))
	exits := make([]*int64, len(ups))
	for i, u := range ups {
		ids[i], states[i] = u.ID, u.State
		if u.ExitCode != nil {
			e := int64(*u.ExitCode)
			exits[i] = &e
		}
	}
	// States are what the CEs said, said again by the next status: their
	// commit need not wait for the server's disk (as SQLite's WAL commits
	// with synchronous=NORMAL); a server crash loses at most the last few,
	// never a submission (those commit synchronously)
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
		return fmt.Errorf("job list: update states: %w", err)
	}
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = v.state, exit_code = COALESCE(v.exit, jobs.exit_code), updated = $1
	  FROM unnest($2::text[], $3::text[], $4::bigint[]) AS v(id, state, exit) WHERE jobs.id = v.id
	  AND (jobs.state IS DISTINCT FROM v.state OR (v.exit IS NOT NULL AND jobs.exit_code IS DISTINCT FROM v.exit))`,
		time.Now().Unix(), ids, states, exits)
	if err != nil {
		return fmt.Errorf("job list: update states: %w", err)
	}
	return nil
}

// Remove drops jobs from the list.
func (s *Store) Remove(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if _, err := s.exec(ctx, `DELETE FROM jobs WHERE id = ?`, id); err != nil {
			return fmt.Errorf("job list: remove %s: %w", id, err)
		}
	}
	return nil
}

// Cleaned drops jobs cleaned from their CEs from the list, and remembers
// them for CleanedMemory so that a CE listing them still does not bring
// them back (see Add).
func (s *Store) Cleaned(ctx context.Context, ids ...string) error {
	now := time.Now().Unix()
	for _, id := range ids {
		if _, err := s.exec(ctx, `INSERT INTO cleaned (id, at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, id, now); err != nil {
			return fmt.Errorf("job list: remember %s cleaned: %w", id, err)
		}
	}
	if _, err := s.exec(ctx, `DELETE FROM cleaned WHERE at < ?`, now-int64(CleanedMemory/time.Second)); err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	return s.Remove(ctx, ids...)
}

// CEVersion returns the remembered API version of a CE endpoint.
func (s *Store) CEVersion(ctx context.Context, endpoint string) (string, bool) {
	var v string
	err := s.queryRow(ctx, `SELECT api_version FROM ces WHERE endpoint = ?`, endpoint).Scan(&v)
	return v, err == nil
}

// SetCEVersion remembers a CE's API version.
func (s *Store) SetCEVersion(ctx context.Context, endpoint, flavour, version string) error {
	_, err := s.exec(ctx, `INSERT INTO ces (endpoint, flavour, api_version, updated) VALUES (?,?,?,?)
	  ON CONFLICT(endpoint) DO UPDATE SET api_version = excluded.api_version, updated = excluded.updated`,
		endpoint, flavour, version, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	return nil
}

// CEJobCount returns how many jobs a CE held for the user when it was last
// counted (a listing of all of them), and when.
func (s *Store) CEJobCount(ctx context.Context, endpoint string) (int, time.Time, bool) {
	var n, at int64
	err := s.queryRow(ctx, `SELECT jobs, counted FROM ce_census WHERE endpoint = ?`, endpoint).Scan(&n, &at)
	return int(n), time.Unix(at, 0), err == nil
}

// SetCEJobCount remembers a CE's job count (kept if at is older than the
// one remembered: processes may finish out of order).
func (s *Store) SetCEJobCount(ctx context.Context, endpoint string, n int, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO ce_census (endpoint, jobs, counted) VALUES (?,?,?)
	  ON CONFLICT(endpoint) DO UPDATE SET jobs = excluded.jobs, counted = excluded.counted WHERE excluded.counted >= ce_census.counted`,
		endpoint, n, at.Unix())
	if err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	return nil
}

// Delegation is a credential stored on a CE, remembered so that one
// delegation per CE, identity and type is reused and renewed in place.
type Delegation struct {
	CE       string
	Identity string // who authenticated and whose credential was delegated
	Type     string // x509 or token
	ID       string
	NotAfter time.Time
}

// Delegation returns the remembered delegation for a CE, identity and type.
func (s *Store) Delegation(ctx context.Context, ce, identity, typ string) (Delegation, bool) {
	d := Delegation{CE: ce, Identity: identity, Type: typ}
	var na int64
	err := s.queryRow(ctx, `SELECT id, not_after FROM delegations WHERE ce = ? AND identity = ? AND type = ?`,
		ce, identity, typ).Scan(&d.ID, &na)
	if err != nil {
		return d, false
	}
	d.NotAfter = time.Unix(na, 0)
	return d, true
}

// SetDelegation remembers a delegation (replacing the previous one).
func (s *Store) SetDelegation(ctx context.Context, d Delegation) error {
	_, err := s.exec(ctx, `INSERT INTO delegations (ce, identity, type, id, not_after, updated) VALUES (?,?,?,?,?,?)
	  ON CONFLICT(ce, identity, type) DO UPDATE SET id = excluded.id, not_after = excluded.not_after, updated = excluded.updated`,
		d.CE, d.Identity, d.Type, d.ID, d.NotAfter.Unix(), time.Now().Unix())
	if err != nil {
		return fmt.Errorf("job list: remember delegation: %w", err)
	}
	return nil
}

// ForgetDelegation drops a remembered delegation (the CE no longer has it).
func (s *Store) ForgetDelegation(ctx context.Context, ce, identity, typ string) error {
	if _, err := s.exec(ctx, `DELETE FROM delegations WHERE ce = ? AND identity = ? AND type = ?`, ce, identity, typ); err != nil {
		return fmt.Errorf("job list: forget delegation: %w", err)
	}
	return nil
}

// Check runs SQLite's integrity check over the whole list ("ok", or what
// is broken); a PostgreSQL list is checked by its server (Check asks it a
// question).
func (s *Store) Check(ctx context.Context) error {
	if s.d.name == "postgres" {
		var n int
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n); err != nil {
			return fmt.Errorf("job list %s: %w", s.path, err)
		}
		return nil
	}
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("job list %s: integrity check: %w", s.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("job list %s is damaged: %s", s.path, strings.Join(problems, "; "))
	}
	return nil
}

// ForeignError is a file given as the job list that is another program's:
// ARC's jobs.dat (SQLite or Berkeley DB), jobs.xml, or anything else. cesub
// does not touch it (adding its tables would break the ARC client's list).
type ForeignError struct {
	Path, What string
}

func (e *ForeignError) Error() string {
	if strings.Contains(e.What, "ARC") {
		return fmt.Sprintf("%s is %s, not cesub's job list; cesub leaves it as it is. Rebuild cesub's list from the CEs "+
			"with `cesub sync -C CE` (it asks each CE for your jobs), and use -j for cesub's own file", e.Path, e.What)
	}
	return fmt.Sprintf("%s is %s, not cesub's job list; give -j a cesub job list or a new file", e.Path, e.What)
}

// checkOwn refuses an existing file that is not a cesub job list (a new or
// empty file is fine), before anything is written to it.
func checkOwn(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // made below
	}
	head := make([]byte, 100)
	n, _ := io.ReadFull(f, head)
	f.Close()
	head = head[:n]
	switch {
	case n == 0:
		return nil
	case bytes.HasPrefix(head, []byte("SQLite format 3\x00")):
	case n >= 16 && (binary.LittleEndian.Uint32(head[12:]) == 0x053162 || binary.BigEndian.Uint32(head[12:]) == 0x053162 ||
		binary.LittleEndian.Uint32(head[12:]) == 0x061561 || binary.BigEndian.Uint32(head[12:]) == 0x061561):
		return &ForeignError{Path: path, What: "a Berkeley DB file (the ARC client's jobs.dat)"}
	case bytes.HasPrefix(bytes.TrimSpace(head), []byte("<")):
		return &ForeignError{Path: path, What: "an XML file (the ARC client's jobs.xml?)"}
	default:
		return &ForeignError{Path: path, What: "not an SQLite database"}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(15000)")
	if err != nil {
		return fmt.Errorf("job list %s: %w", path, err)
	}
	defer db.Close()
	var ddl sql.NullString
	err = db.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").Scan(&ddl)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// no jobs table: another program's database, unless cesub's own
		// tables are there by now (another cesub process creating the list)
		var ours, others int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FILTER (WHERE name IN ('jobs', 'ces', 'ce_census', 'delegations', 'pending', 'schema_version')), count(*) FILTER (WHERE name NOT IN ('jobs', 'ces', 'ce_census', 'delegations', 'pending', 'schema_version')) "+
			"FROM sqlite_master WHERE type = 'table'").Scan(&ours, &others); err == nil && ours == 0 && others > 0 {
			return &ForeignError{Path: path, What: "an SQLite database of another program"}
		}
		return nil
	case err != nil:
		return nil // cannot tell now (busy): opening it decides
	case !strings.Contains(ddl.String, "local_id"):
		return &ForeignError{Path: path, What: "the ARC client's job list (jobs.dat)"}
	}
	return nil
}
