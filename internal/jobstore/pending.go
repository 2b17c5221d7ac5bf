package jobstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Pending is a submission request written ahead: sent (or about to be),
// its answer not yet recorded. Key is the submission key the CE's jobs
// carry (ARC: the cesub-submission annotation; HTCondor: the
// CesubSubmission attribute), so that a later command can ask the CE for
// exactly these jobs if the process died before the answer was recorded.
type Pending struct {
	Key      string    `json:"key"`
	CE       string    `json:"ce"`
	Flavour  string    `json:"flavour"`
	Jobs     int       `json:"jobs"` // jobs the request asked for (with instances: every copy)
	Created  time.Time `json:"created"`
	Owner    Owner     `json:"owner"`
	Clusters []string  `json:"clusters,omitempty"` // HTCondor: the clusters NewCluster gave, once known
	// DelegationID is the delegation the jobs were given (recorded with them).
	DelegationID string `json:"delegation_id,omitempty"`
}

// Owner is the process that wrote a pending row.
type Owner struct {
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	Start uint64 `json:"-"` // the process's start time in clock ticks (/proc/PID/stat), 0 if unknown
}

// Self is this process as an Owner.
func Self() Owner {
	pid := os.Getpid()
	return Owner{Host: hostname(), PID: pid, Start: procStart(pid)}
}

// String names the owner as claims record it: host:pid:start.
func (o Owner) String() string {
	return o.Host + ":" + strconv.Itoa(o.PID) + ":" + strconv.FormatUint(o.Start, 10)
}

// hostname is this host's name, as pending rows and claims record it.
// CESUB_TEST_HOSTNAME replaces it: tests simulate a fleet of hosts with
// processes of one machine.
func hostname() string {
	if h := os.Getenv("CESUB_TEST_HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

// Alive reports whether the owner is a live process on this host (a
// process of another host cannot be told: false, ok false). A zombie (killed,
// not yet reaped by its parent) is not alive.
func (o Owner) Alive() (alive, ok bool) {
	if o.Host != hostname() || o.PID <= 0 {
		return false, false
	}
	if start, state := procStat(o.PID); start != 0 {
		if state == "Z" || state == "X" {
			return false, true
		}
		return o.Start == 0 || start == o.Start, true // another start time: the pid was reused
	}
	err := syscall.Kill(o.PID, 0)
	return err == nil || errors.Is(err, syscall.EPERM), true
}

// procStart is the start time of process pid in clock ticks, 0 when unknown.
func procStart(pid int) uint64 {
	start, _ := procStat(pid)
	return start
}

// procStat reads /proc/PID/stat: starttime (field 22; 0 when unreadable)
// and state (field 3).
func procStat(pid int) (start uint64, state string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parentheses
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 { // state is field 3, starttime field 22
		return 0, ""
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n, f[0]
}

// AddPending writes a submission request ahead, in one small transaction.
func (s *Store) AddPending(ctx context.Context, p Pending) error {
	if p.Key == "" || p.CE == "" {
		return errors.New("job list: a pending submission needs a key and a CE")
	}
	if p.Created.IsZero() {
		p.Created = time.Now()
	}
	_, err := s.exec(ctx, `INSERT INTO pending (key, ce, flavour, jobs, created, host, pid, pid_start, clusters, delegation_id)
	  VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (key) DO UPDATE SET ce = excluded.ce, flavour = excluded.flavour,
	  jobs = excluded.jobs, created = excluded.created, host = excluded.host, pid = excluded.pid,
	  pid_start = excluded.pid_start, clusters = excluded.clusters, delegation_id = excluded.delegation_id`, p.Key, p.CE, p.Flavour, p.Jobs, p.Created.UnixMilli(), p.Owner.Host, p.Owner.PID,
		int64(p.Owner.Start), strings.Join(p.Clusters, " "), p.DelegationID)
	if err != nil {
		return fmt.Errorf("job list: write submission %s ahead: %w", p.Key, err)
	}
	return nil
}

// SetPendingCluster adds a cluster id the CE gave the pending submission
// key (HTCondor's NewCluster answer, before the commit).
func (s *Store) SetPendingCluster(ctx context.Context, key, cluster string) error {
	_, err := s.exec(ctx, `UPDATE pending SET clusters = ltrim(clusters || ' ' || CAST(? AS TEXT)) WHERE key = ?`, cluster, key)
	if err != nil {
		return fmt.Errorf("job list: submission %s: cluster %s: %w", key, cluster, err)
	}
	return nil
}

// ResolvePending records the jobs of pending submission key (those not on
// the list yet) and deletes its row, in one transaction. It returns how
// many jobs were new.
func (s *Store) ResolvePending(ctx context.Context, key string, jobs ...Job) (n int, err error) {
	err = s.retry(ctx, func() (err error) {
		n, err = s.resolvePending(ctx, key, jobs)
		return err
	})
	return n, err
}

func (s *Store) resolvePending(ctx context.Context, key string, jobs []Job) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("job list: %w", err)
	}
	defer tx.Rollback()
	n, err := s.addTx(ctx, tx, jobs)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM pending WHERE key = ?`), key); err != nil {
		return 0, fmt.Errorf("job list: clear submission %s: %w", key, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("job list: %w", err)
	}
	return n, nil
}

// DropPending deletes a pending row (its request failed before the CE
// could have created anything).
func (s *Store) DropPending(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM pending WHERE key = ?`, key); err != nil {
		return fmt.Errorf("job list: clear submission %s: %w", key, err)
	}
	return nil
}

// ListPending returns the pending submissions to the CE endpoint (all,
// for ""), oldest first.
func (s *Store) ListPending(ctx context.Context, ce string) ([]Pending, error) {
	q := `SELECT key, ce, flavour, jobs, created, host, pid, pid_start, clusters, delegation_id FROM pending`
	var args []any
	if ce != "" {
		q += ` WHERE ce = ?`
		args = append(args, ce)
	}
	rows, err := s.query(ctx, q+` ORDER BY created, key`, args...)
	if err != nil {
		return nil, fmt.Errorf("job list: %w", err)
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		p, err := scanPending(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func scanPending(rows *sql.Rows) (Pending, error) {
	var p Pending
	var created, start int64
	var clusters string
	if err := rows.Scan(&p.Key, &p.CE, &p.Flavour, &p.Jobs, &created, &p.Owner.Host, &p.Owner.PID, &start, &clusters, &p.DelegationID); err != nil {
		return p, fmt.Errorf("job list: %w", err)
	}
	p.Created = time.UnixMilli(created).UTC()
	p.Owner.Start = uint64(start)
	p.Clusters = strings.Fields(clusters)
	return p, nil
}
