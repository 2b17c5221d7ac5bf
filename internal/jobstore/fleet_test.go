package jobstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func addN(t *testing.T, s *Store, n int) []string {
	t.Helper()
	var jobs []Job
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("https://ce/arex/rest/1.0/jobs/j%03d", i)
		ids = append(ids, id)
		jobs = append(jobs, Job{ID: id, LocalID: fmt.Sprintf("j%03d", i), CE: "https://ce/arex", Flavour: "arc", Submitted: time.Now()})
	}
	if _, err := s.Add(context.Background(), jobs...); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestClaimsOnce: 8 processes' connections claim the same 200 jobs at once;
// each job is claimed by exactly one, a given-back claim can be taken by
// another, a removed job by none.
func TestClaimsOnce(t *testing.T) { eachStore(t, testClaimsOnce) }

func testClaimsOnce(t *testing.T, name string) {
	ctx := context.Background()
	s, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := addN(t, s, 200)
	var mu sync.Mutex
	by := map[string][]string{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ws, err := Open(ctx, name)
			if err != nil {
				t.Error(err)
				return
			}
			defer ws.Close()
			owner := fmt.Sprintf("host%d:1:1", w)
			for _, id := range ids { // one at a time, as get claims them
				got, err := ws.Claim(ctx, owner, time.Hour, id)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, g := range got {
					by[g] = append(by[g], owner)
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	for _, id := range ids {
		if len(by[id]) != 1 {
			t.Fatalf("%s claimed by %v, want exactly one", id, by[id])
		}
	}
	first := by[ids[0]][0]
	if got, _ := s.Claim(ctx, "other:1:1", time.Hour, ids[0]); len(got) != 0 {
		t.Fatalf("a claimed job was claimed again: %v", got)
	}
	if err := s.Release(ctx, first, ids[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Claim(ctx, "other:1:1", time.Hour, ids[0]); len(got) != 1 {
		t.Fatalf("a given-back job could not be claimed: %v", got)
	}
	if who, _, _ := s.Claimant(ctx, ids[0]); who != "other:1:1" {
		t.Fatalf("claimant %q", who)
	}
	_ = s.Remove(ctx, ids[1])
	if got, _ := s.Claim(ctx, "other:1:1", time.Hour, ids[1]); len(got) != 0 {
		t.Fatalf("a removed job was claimed: %v", got)
	}
}

// TestClaimExpires: a claim whose owner died (not given back) is free once
// it runs out.
func TestClaimExpires(t *testing.T) { eachStore(t, testClaimExpires) }

func testClaimExpires(t *testing.T, name string) {
	ctx := context.Background()
	s, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := addN(t, s, 3)
	if got, _ := s.Claim(ctx, "dead:1:1", -time.Minute, ids...); len(got) != 3 {
		t.Fatalf("claimed %v", got)
	}
	if got, _ := s.Claim(ctx, "live:1:1", time.Hour, ids...); len(got) != 3 {
		t.Fatalf("expired claims not taken over: %v", got)
	}
}

// TestNewerSchemaRefused: a list a newer cesub migrated (a version this one
// does not know) is refused with a SchemaError saying so.
func TestNewerSchemaRefused(t *testing.T) { eachStore(t, testNewerSchemaRefused) }

func testNewerSchemaRefused(t *testing.T, name string) {
	ctx := context.Background()
	db := rawDB(t, name)
	if _, err := db.ExecContext(ctx, fmt.Sprintf("UPDATE schema_version SET version = %d", SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, name)
	var se *SchemaError
	if !errors.As(err, &se) || se.Found != SchemaVersion+1 || !strings.Contains(err.Error(), "newer cesub") {
		t.Fatalf("got %v, want a SchemaError", err)
	}
}

// TestCopyKeepsEveryField: SQLite → PostgreSQL → SQLite copies every row
// of every table with every column (claims, pending owners, delegations).
func TestCopyKeepsEveryField(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "a.db")
	s := filled(t, src)
	mid := freshPostgres(t)
	back := filepath.Join(t.TempDir(), "b.db")
	copyList(t, src, mid)
	copyList(t, mid, back)
	for _, tb := range tables {
		want, got := dump(t, s, tb.name, tb.cols), dump(t, openT(t, back), tb.name, tb.cols)
		if len(want) == 0 || !reflect.DeepEqual(want, got) {
			t.Errorf("%s: copied %v, want %v", tb.name, got, want)
		}
	}
	// copying again adds nothing
	c, err := Copy(ctx, s, openT(t, back))
	if err != nil || c[0].Rows != 2 || c[0].Copied != 0 {
		t.Fatalf("second copy: %+v %v", c, err)
	}
}

func openT(t *testing.T, name string) *Store {
	t.Helper()
	s, err := Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func copyList(t *testing.T, from, to string) {
	t.Helper()
	c, err := Copy(context.Background(), openT(t, from), openT(t, to))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range c {
		if x.Rows != x.Copied || x.Rows == 0 {
			t.Fatalf("copy %s → %s: %+v", from, Redact(to), c)
		}
	}
}

// filled is a list with a row in every table and every column set.
func filled(t *testing.T, name string) *Store {
	t.Helper()
	ctx := context.Background()
	s := openT(t, name)
	exit := 7
	_, err := s.Add(ctx, Job{ID: "https://ce/arex/rest/1.0/jobs/a", LocalID: "a", CE: "https://ce/arex", Flavour: "arc", Name: "n",
		Submitted: time.Unix(1700000000, 0), Description: `{"x":1}`, DelegationID: "d", State: "FINISHED", ExitCode: &exit},
		Job{ID: "condor://ce:9619/12.0", LocalID: "12.0", CE: "condor://ce:9619", Flavour: "htcondor", Submitted: time.Unix(1700000001, 0)})
	must(t, err)
	_, err = s.Claim(ctx, "h:1:2", time.Hour, "condor://ce:9619/12.0")
	must(t, err)
	_, err = s.Add(ctx, Job{ID: "gone", LocalID: "gone", CE: "https://ce/arex", Flavour: "arc"})
	must(t, err)
	must(t, s.Cleaned(ctx, "gone"))
	must(t, s.SetCEVersion(ctx, "https://ce/arex", "arc", "1.1"))
	must(t, s.SetCEJobCount(ctx, "https://ce/arex", 12, time.Unix(1700000002, 0)))
	must(t, s.SetDelegation(ctx, Delegation{CE: "https://ce/arex", Identity: "me", Type: "x509", ID: "d", NotAfter: time.Unix(1800000000, 0)}))
	must(t, s.AddPending(ctx, Pending{Key: "k", CE: "condor://ce:9619", Flavour: "htcondor", Jobs: 3, Owner: Owner{Host: "h", PID: 9, Start: 99},
		Clusters: []string{"12", "13"}, DelegationID: "d2", Created: time.UnixMilli(1700000003123)}))
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func dump(t *testing.T, s *Store, table string, cols []string) []string {
	t.Helper()
	rows, err := s.query(context.Background(), "SELECT "+strings.Join(cols, ", ")+" FROM "+table)
	must(t, err)
	defer rows.Close()
	var out []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		must(t, rows.Scan(ptrs...))
		out = append(out, fmt.Sprint(vals...))
	}
	sort.Strings(out)
	return out
}

// TestCleanedNotAddedBack: a job cleaned from its CE leaves the list and is
// not added back from a CE listing that still shows it (sync on another
// host); other jobs are added as before.
func TestCleanedNotAddedBack(t *testing.T) { eachStore(t, testCleanedNotAddedBack) }

func testCleanedNotAddedBack(t *testing.T, name string) {
	ctx := context.Background()
	s := openT(t, name)
	ids := addN(t, s, 2)
	must(t, s.Cleaned(ctx, ids[0]))
	if got, _ := s.List(ctx, Filter{}); len(got) != 1 || got[0].ID != ids[1] {
		t.Fatalf("after clean: %+v", got)
	}
	n, err := s.Add(ctx, Job{ID: ids[0], LocalID: "j000", CE: "https://ce/arex", Flavour: "arc"}, Job{ID: "new", LocalID: "new", CE: "https://ce/arex", Flavour: "arc"})
	if err != nil || n != 1 {
		t.Fatalf("add: %d %v, want only the new job", n, err)
	}
	if got, _ := s.List(ctx, Filter{IDs: []string{ids[0]}}); len(got) != 0 {
		t.Fatalf("a cleaned job was added back: %+v", got)
	}
}

func TestPostgresNames(t *testing.T) {
	for name, want := range map[string]bool{"postgres://u@h/db": true, "postgresql://h": true, "host=db dbname=cesub": true,
		"dbname=x": true, "/home/u/jobs.db": false, "jobs.db": false, "a=b": false, "./host=x": false} {
		if IsPostgres(name) != want {
			t.Errorf("IsPostgres(%q) = %v", name, !want)
		}
	}
	for _, name := range []string{"postgres://cesub:s3cret@db.example:5433/jobs?sslmode=verify-full", "host=db.example port=5433 user=cesub password=s3cret dbname=jobs"} {
		r := Redact(name)
		if strings.Contains(r, "s3cret") || r != "postgres://cesub@db.example:5433/jobs" {
			t.Errorf("Redact(%q) = %q", name, r)
		}
	}
	if _, err := Open(context.Background(), "postgres://u:s3cret@[bad"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a bad URL: %v", err)
	}
}

// TestPostgresConnErrors: a wrong password and an untrusted server
// certificate are one line each, naming the server and not the password.
func TestPostgresConnErrors(t *testing.T) {
	ctx := context.Background()
	url := freshPostgres(t)
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
	bad := strings.Replace(url, "cesub@", "cesub:wrong-pw@", 1)
	_, err := Open(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") || strings.Contains(err.Error(), "wrong-pw") ||
		!strings.Contains(err.Error(), "postgres://cesub@localhost:") || strings.Contains(err.Error(), "\n") {
		t.Errorf("wrong password: %v", err)
	}
	other := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(other, selfSignedCA(t), 0o600))
	i := strings.Index(url, "sslrootcert=")
	j := strings.Index(url[i:], "&")
	untrusted := url[:i] + "sslrootcert=" + other + url[i+j:]
	_, err = Open(ctx, untrusted)
	if err == nil || !strings.Contains(err.Error(), "TLS certificate") || strings.Contains(err.Error(), "\n") {
		t.Errorf("untrusted server: %v", err)
	}
}

// selfSignedCA is a CA certificate (PEM) made now, which signed nothing.
func selfSignedCA(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
