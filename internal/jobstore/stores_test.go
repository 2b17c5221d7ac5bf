package jobstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// eachStore runs f once per engine with the name of a new, empty job list:
// a file in a temporary folder, and a fresh schema of the testbed's
// PostgreSQL database (dropped afterwards). The PostgreSQL run skips
// outside the testbed as the integration tests do (not under CI=true).
func eachStore(t *testing.T, f func(t *testing.T, name string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, filepath.Join(t.TempDir(), "jobs.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, freshPostgres(t)) })
}

// freshPostgres makes a new schema in the testbed's cesub database and
// returns a connection string whose search_path is that schema.
func freshPostgres(t *testing.T) string {
	t.Helper()
	vars := testbed.Postgres(t)
	url := vars["CESUB_TESTBED_POSTGRES_URL"]
	t.Setenv("PGPASSFILE", vars["PGPASSFILE"])
	ctx := context.Background()
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("t_%x", rand.Uint64())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	return url + "&search_path=" + schema
}

// rawDB opens the database behind a store name without cesub's schema
// (to plant rows or tables a test needs).
func rawDB(t *testing.T, name string) *sql.DB {
	t.Helper()
	s, err := Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.db
}
