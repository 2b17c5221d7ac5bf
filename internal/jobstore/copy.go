package jobstore

import (
	"context"
	"fmt"
	"strings"
)

// tables are the job list's tables and columns (schema.go), as Copy moves
// them; schema_version is not copied: each list has its own.
var tables = []struct {
	name string
	cols []string
	key  string
}{
	{"jobs", []string{"id", "local_id", "ce", "flavour", "name", "submitted", "description", "delegation_id", "state",
		"exit_code", "updated", "claim_owner", "claim_until"}, "id"},
	{"ces", []string{"endpoint", "flavour", "api_version", "updated"}, "endpoint"},
	{"ce_census", []string{"endpoint", "jobs", "counted"}, "endpoint"},
	{"delegations", []string{"ce", "identity", "type", "id", "not_after", "updated"}, "ce, identity, type"},
	{"pending", []string{"key", "ce", "flavour", "jobs", "created", "host", "pid", "pid_start", "clusters", "delegation_id"}, "key"},
	{"cleaned", []string{"id", "at"}, "id"},
}

// Copied is what Copy did to one table.
type Copied struct {
	Table  string `json:"table"`
	Rows   int    `json:"rows"`   // rows read from the source
	Copied int    `json:"copied"` // of them, new in the destination
}

// Copy copies every row of every table of list from into list to (jobs,
// pending submissions, CEs, counts, delegations), every column as it is,
// in one transaction of to: all or nothing. A row whose key to has already
// is left as to has it.
func Copy(ctx context.Context, from, to *Store) ([]Copied, error) {
	tx, err := to.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("job list %s: %w", to.path, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var out []Copied
	for _, t := range tables {
		c, err := copyTable(ctx, from, to, tx, t.name, t.cols, t.key)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("job list %s: %w", to.path, err)
	}
	return out, nil
}

func copyTable(ctx context.Context, from, to *Store, tx execer, table string, cols []string, key string) (Copied, error) {
	c := Copied{Table: table}
	list := strings.Join(cols, ", ")
	rows, err := from.query(ctx, `SELECT `+list+` FROM `+table)
	if err != nil {
		return c, fmt.Errorf("job list %s: read %s: %w", from.path, table, err)
	}
	defer rows.Close()
	ins := to.d.q(`INSERT INTO ` + table + ` (` + list + `) VALUES (` + placeholders(len(cols)) + `) ON CONFLICT (` + key + `) DO NOTHING`)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return c, fmt.Errorf("job list %s: read %s: %w", from.path, table, err)
		}
		c.Rows++
		r, err := tx.ExecContext(ctx, ins, vals...)
		if err != nil {
			return c, fmt.Errorf("job list %s: write %s: %w", to.path, table, err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			c.Copied++
		}
	}
	return c, rows.Err()
}
