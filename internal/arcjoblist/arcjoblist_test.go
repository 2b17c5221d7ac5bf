package arcjoblist

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEscapeAsARC(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "a'b": "a%27b", "x#y": "x%23y", "l1\nl2": "l1%0al2", "50%": "50%25", "": "",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if got := Unescape(want); got != in {
			t.Errorf("Unescape(%q) = %q, want %q", want, got, in)
		}
	}
}

// TestReadsARCsRecord: a row as ARC 6.17/7 arcsub writes it (its INSERT
// of escaped text into the untyped columns) reads back as the job.
func TestReadsARCsRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.dat")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE jobs(" + strings.Join(columns, ", ") + ", UNIQUE(id))"); err != nil {
		t.Fatal(err)
	}
	vals := make([]string, len(columns))
	set := map[string]string{"id": "https://ce.test/arex/rest/1.0/jobs/abc", "idfromendpoint": "abc", "name": "it%27s",
		"managementinterfacename": InterfaceREST, "managementurl": "https://ce.test/arex",
		"descriptiondocument": `&( executable = "/bin/echo" )%0a`, "localsubmissiontime": "1796612747", "delegationid": "d1"}
	for i, c := range columns {
		vals[i] = "'" + set[c] + "'"
	}
	if _, err := db.Exec("INSERT INTO jobs(" + strings.Join(columns, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	jobs, err := Read(context.Background(), path)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Read: %v %v", jobs, err)
	}
	j := jobs[0]
	if j.Name != "it's" || j.IDFromEndpoint != "abc" || j.ServiceURL != "https://ce.test/arex" || j.Interface != InterfaceREST ||
		j.Description != "&( executable = \"/bin/echo\" )\n" || j.Submitted.Unix() != 1796612747 || j.DelegationID != "d1" {
		t.Errorf("read %+v", j)
	}
}

// TestAddRemove: a new list gets ARC's table; written jobs read back,
// rewritten ones are replaced, removed ones are gone.
func TestAddRemove(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "jobs.dat")
	if jobs, err := Read(ctx, path); err != nil || len(jobs) != 0 {
		t.Fatalf("missing list: %v %v", jobs, err)
	}
	a := Job{ID: "https://h:1/arex/rest/1.0/jobs/a", IDFromEndpoint: "a", Name: "n#1", Interface: InterfaceREST,
		ServiceURL: "https://h:1/arex", Submitted: time.Unix(1700000000, 0)}
	b := a
	b.ID, b.IDFromEndpoint = "https://h:1/arex/rest/1.0/jobs/b", "b"
	if err := Add(ctx, path, a, b); err != nil {
		t.Fatal(err)
	}
	a.Name = "renamed"
	if err := Add(ctx, path, a); err != nil {
		t.Fatal(err)
	}
	jobs, err := Read(ctx, path)
	if err != nil || len(jobs) != 2 || jobs[1].Name != "renamed" && jobs[0].Name != "renamed" {
		t.Fatalf("after add: %+v %v", jobs, err)
	}
	db, _ := sql.Open("sqlite", path)
	var host, state, raw string
	_ = db.QueryRow("SELECT serviceinformationhost, state, name FROM jobs WHERE id = ?", b.ID).Scan(&host, &state, &raw)
	db.Close()
	if host != "h" || state != "Undefined" || raw != "n%231" {
		t.Errorf("stored host %q state %q name %q", host, state, raw)
	}
	if err := Remove(ctx, path, a.ID); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := Read(ctx, path); len(jobs) != 1 || jobs[0].ID != b.ID {
		t.Errorf("after remove: %+v", jobs)
	}
}
