package jobstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// dialect is what differs between the engines the job list runs on: the
// statements are written once with ? placeholders and portable SQL
// (INSERT … ON CONFLICT, which SQLite has since 3.24), and the dialect
// rewrites placeholders and adds what only one engine has.
type dialect struct {
	name string
	// dollar: placeholders are $1, $2, … (PostgreSQL) rather than ?
	dollar bool
	// skipLocked ends a SELECT that claims rows: rows another transaction
	// is claiming are passed over rather than waited for (PostgreSQL);
	// SQLite's transactions take the write lock at BEGIN, so none is needed
	skipLocked string
	// lockSchema serialises migrations across clients within a transaction
	// ("" on SQLite, whose immediate transactions are serialised already)
	lockSchema string
	// batchUpdates: many rows' states are written by one statement with
	// arrays (PostgreSQL: a server's round trips cost more than SQLite's
	// statements)
	batchUpdates bool
	// countFirst: List counts the rows first to size its slice once
	// (SQLite: an index walk in the process; PostgreSQL: a round trip and a
	// scan on the server, which cost more than the slice's growth)
	countFirst bool
}

var (
	sqliteDialect   = dialect{name: "sqlite", countFirst: true}
	postgresDialect = dialect{name: "postgres", dollar: true, skipLocked: " FOR UPDATE SKIP LOCKED",
		lockSchema: "SELECT pg_advisory_xact_lock(7120342518)", batchUpdates: true}
)

// q rewrites a statement written with ? placeholders for the engine.
func (d dialect) q(query string) string {
	if !d.dollar || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// placeholders is "?,?,…" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec runs one statement outside a transaction. Every such statement of
// the job list can run twice with the same result (an upsert, a delete, an
// update to given values): on PostgreSQL one the server could not take
// (restarting, the connection dropped) is tried again for up to 15 s.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var r sql.Result
	err := s.retry(ctx, func() (err error) {
		r, err = s.db.ExecContext(ctx, s.d.q(query), args...)
		return err
	})
	return r, err
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	err := s.retry(ctx, func() (err error) {
		rows, err = s.db.QueryContext(ctx, s.d.q(query), args...)
		return err
	})
	return rows, err
}

// retry runs f again while it fails for a reason that passes (PostgreSQL
// only: SQLite waits in its busy handler).
func (s *Store) retry(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := f()
		if err == nil || s.d.name != "postgres" || !transient(err) {
			return err
		}
		if time.Now().After(deadline) {
			return &serverError{name: s.path, err: err}
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.d.q(query), args...)
}
