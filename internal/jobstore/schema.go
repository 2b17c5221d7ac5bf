package jobstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrations build the schema, the same on every engine: migration i
// brings a list to version i+1. A list made before versions were kept
// (version 0) has the tables of the first one already: it is written with
// IF NOT EXISTS. A migration only adds (tables, columns, indexes), so that
// an older cesub could still read the rows; but an older cesub refuses a
// list whose version it does not know (SchemaError).
var migrations = []string{
	// 1: the job list as it was before versions (integers are BIGINT:
	// SQLite stores any integer in it; PostgreSQL's INTEGER is 32 bits)
	`CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  local_id TEXT NOT NULL,
  ce TEXT NOT NULL,
  flavour TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  submitted BIGINT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  delegation_id TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT '',
  exit_code BIGINT,
  updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_ce ON jobs(ce);
CREATE TABLE IF NOT EXISTS ces (
  endpoint TEXT PRIMARY KEY,
  flavour TEXT NOT NULL,
  api_version TEXT NOT NULL,
  updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ce_census (
  endpoint TEXT PRIMARY KEY,
  jobs BIGINT NOT NULL,
  counted BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS delegations (
  ce TEXT NOT NULL,
  identity TEXT NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  not_after BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  PRIMARY KEY (ce, identity, type)
);
CREATE TABLE IF NOT EXISTS pending (
  key TEXT PRIMARY KEY,
  ce TEXT NOT NULL,
  flavour TEXT NOT NULL,
  jobs BIGINT NOT NULL,
  created BIGINT NOT NULL,
  host TEXT NOT NULL DEFAULT '',
  pid BIGINT NOT NULL DEFAULT 0,
  pid_start BIGINT NOT NULL DEFAULT 0,
  clusters TEXT NOT NULL DEFAULT '',
  delegation_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS pending_ce ON pending(ce)`,
	// 2: claims (a job being fetched by one process of the fleet), the
	// jobs cleaned from their CEs lately (not added back from a CE's
	// listing that still shows them), and indexes for selecting by state
	// and listing in order
	`ALTER TABLE jobs ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN claim_until BIGINT NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS cleaned (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, submitted, id);
CREATE INDEX IF NOT EXISTS jobs_order ON jobs(submitted, id)`,
}

// SchemaVersion is the newest job list schema this cesub knows.
var SchemaVersion = len(migrations)

// SchemaError is a job list written by a newer cesub (a schema version
// this one does not know).
type SchemaError struct {
	List          string
	Found, Knowns int
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("job list %s has schema version %d, newer than this cesub knows (%d): use a newer cesub with it",
		e.List, e.Found, e.Knowns)
}

// version reads the list's schema version (0: none recorded, or no
// version table yet).
func version(ctx context.Context, db execer) (int, error) {
	var v sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// migrate brings the list to SchemaVersion: a list already there costs one
// read; otherwise the migrations run in one transaction (serialised across
// clients), which also creates the version table.
func (s *Store) migrate(ctx context.Context) error {
	if v, err := version(ctx, s.db); err == nil && v == SchemaVersion {
		return nil
	} else if err == nil && v > SchemaVersion {
		return &SchemaError{List: s.path, Found: v, Knowns: SchemaVersion}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if s.d.lockSchema != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockSchema); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return err
	}
	v, err := version(ctx, tx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return &SchemaError{List: s.path, Found: v, Knowns: SchemaVersion}
	}
	if err := applyMigrations(ctx, tx, v); err != nil {
		return err
	}
	return tx.Commit()
}

// applyMigrations runs the migrations after version from, one statement at
// a time, and records the new version.
func applyMigrations(ctx context.Context, tx *sql.Tx, from int) error {
	for i := from; i < len(migrations); i++ {
		for _, stmt := range strings.Split(migrations[i], ";\n") {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("schema version %d: %w", i+1, err)
			}
		}
	}
	if from == len(migrations) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO schema_version (version) VALUES (%d)`, len(migrations)))
	return err
}
