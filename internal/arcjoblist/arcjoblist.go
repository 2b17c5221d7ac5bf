// Package arcjoblist reads and writes the ARC client's own job list,
// ~/.arc/jobs.dat, in the SQLite format ARC 6 and 7 use (their default
// joblisttype): one table "jobs" of untyped text columns, one row per job,
// every value escaped as ARC escapes it ('%' followed by two lower-case hex
// digits for ', #, CR, LF, BS, NUL and % itself). Jobs written here are
// read by the real arcstat, arcget, arcclean, and the reverse.
package arcjoblist

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Interfaces ARC names the job management interfaces by.
const (
	InterfaceREST  = "org.nordugrid.arcrest"
	InterfaceEMIES = "org.ogf.glue.emies.activitymanagement"
)

// Job is the part of an ARC job record cesub reads and writes; the other
// columns are written with the values ARC writes for "unknown".
type Job struct {
	ID             string    // the job id ARC prints (a URL)
	IDFromEndpoint string    // the id on the CE
	Name           string    // jobname
	Interface      string    // status, management and information interface (InterfaceREST, …)
	ServiceURL     string    // the CE endpoint, e.g. https://ce.example.org/arex
	Description    string    // descriptiondocument: the job description as sent
	Submitted      time.Time // localsubmissiontime
	DelegationID   string
	StdOut, StdErr string
	LogDir         string
	State          string // ARC's general state name ("Undefined" when not known)
}

// columns are ARC's, in its order (JobInformationStorageSQLite).
var columns = strings.Fields(`id idfromendpoint name statusinterface statusurl
managementinterfacename managementurl serviceinformationinterfacename serviceinformationurl serviceinformationhost
sessiondir stageindir stageoutdir descriptiondocument localsubmissiontime delegationid
type localidfrommanager description state restartstate exitcode computingmanagerexitcode
error waitingposition userdomain owner localowner
requestedtotalwallltime requestedtotalcputime requestedslots requestedapplicationenvironment
stdin stdout stderr logdir executionnode queue
usedtotalwallltime usedtotalcputime usedmainmemory
submissiontime computingmanagersubmissiontime starttime computingmanagerendtime endtime
workingareaerasetime proxyexpirationtime submissionhost submissionclienttime
othermessages activityoldid`)

// DefaultPath is ~/.arc/jobs.dat.
func DefaultPath(home string) string { return filepath.Join(home, ".arc", "jobs.dat") }

// Read returns every job of the list at path; a list that does not exist
// yet is empty.
func Read(ctx context.Context, path string) ([]Job, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	db, err := open(path, false)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id, idfromendpoint, name, managementinterfacename, managementurl, "+
		"descriptiondocument, localsubmissiontime, delegationid, stdout, stderr, logdir, state FROM jobs")
	if err != nil {
		return nil, fmt.Errorf("ARC job list %s: %w", path, err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var v [12]sql.NullString
		ptrs := make([]any, len(v))
		for i := range v {
			ptrs[i] = &v[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("ARC job list %s: %w", path, err)
		}
		out = append(out, fromRow(v))
	}
	return out, rows.Err()
}

func fromRow(v [12]sql.NullString) Job {
	s := func(i int) string { return Unescape(v[i].String) }
	j := Job{ID: s(0), IDFromEndpoint: s(1), Name: s(2), Interface: s(3), ServiceURL: s(4), Description: s(5),
		DelegationID: s(7), StdOut: s(8), StdErr: s(9), LogDir: s(10), State: s(11)}
	if n, err := strconv.ParseInt(s(6), 10, 64); err == nil && n > 0 {
		j.Submitted = time.Unix(n, 0)
	}
	return j
}

// Add writes jobs (replacing a record of the same id), creating the list
// and its table as ARC does when they do not exist.
func Add(ctx context.Context, path string, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	db, err := open(path, true)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ARC job list %s: %w", path, err)
	}
	defer func() { _ = tx.Rollback() }()
	q := "REPLACE INTO jobs(" + strings.Join(columns, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(columns)-1) + ")"
	for _, j := range jobs {
		if _, err := tx.ExecContext(ctx, q, values(j)...); err != nil {
			return fmt.Errorf("ARC job list %s: %w", path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ARC job list %s: %w", path, err)
	}
	return nil
}

// values are a job's columns as ARC writes them for a new job.
func values(j Job) []any {
	host := ""
	if i := strings.Index(j.ServiceURL, "://"); i >= 0 {
		host = strings.SplitN(j.ServiceURL[i+3:], "/", 2)[0]
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
	}
	state := j.State
	if state == "" {
		state = "Undefined"
	}
	sub := ""
	if !j.Submitted.IsZero() {
		sub = strconv.FormatInt(j.Submitted.Unix(), 10)
	}
	known := map[string]string{"id": j.ID, "idfromendpoint": j.IDFromEndpoint, "name": j.Name,
		"statusinterface": j.Interface, "statusurl": j.ServiceURL, "managementinterfacename": j.Interface,
		"managementurl": j.ServiceURL, "serviceinformationinterfacename": j.Interface, "serviceinformationurl": j.ServiceURL,
		"serviceinformationhost": host, "descriptiondocument": j.Description, "localsubmissiontime": sub,
		"delegationid": j.DelegationID, "state": state, "restartstate": "Undefined", "exitcode": "-1",
		"waitingposition": "-1", "requestedtotalwallltime": "PT", "requestedtotalcputime": "PT", "requestedslots": "-1",
		"stdout": j.StdOut, "stderr": j.StdErr, "logdir": j.LogDir, "usedtotalwallltime": "PT", "usedtotalcputime": "PT",
		"usedmainmemory": "-1"}
	out := make([]any, len(columns))
	for i, c := range columns {
		out[i] = Escape(known[c])
	}
	return out
}

// Remove deletes the jobs of ids from the list.
func Remove(ctx context.Context, path string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := open(path, false)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, id := range ids {
		if _, err := db.ExecContext(ctx, "DELETE FROM jobs WHERE id = ?", Escape(id)); err != nil {
			return fmt.Errorf("ARC job list %s: %w", path, err)
		}
	}
	return nil
}

// open opens the list; with create, it makes the file (0600, in an
// existing or new 0700 folder) and ARC's table and index.
func open(path string, create bool) (*sql.DB, error) {
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("ARC job list %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("ARC job list %s: %w", path, err)
		}
		f.Close()
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(15000)")
	if err != nil {
		return nil, fmt.Errorf("ARC job list %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if create {
		if _, err := db.Exec("CREATE TABLE IF NOT EXISTS jobs(" + strings.Join(columns, ", ") + ", UNIQUE(id));" +
			"CREATE INDEX IF NOT EXISTS serviceinformationhost ON jobs(serviceinformationhost)"); err != nil {
			db.Close()
			return nil, fmt.Errorf("ARC job list %s: %w", path, err)
		}
	}
	return db, nil
}

// special are the bytes ARC escapes in job list values (with '%' itself).
const special = "'#\r\n\b\x00%"

// Escape writes s as ARC stores it: each special byte as '%' and two
// lower-case hex digits.
func Escape(s string) string {
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			fmt.Fprintf(&b, "%%%02x", s[i])
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Unescape reads a value as ARC stored it (any "%xx" is one byte).
func Unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
