// Package corpus locates the shared material tests read but the project
// never copies: ../shared/corpus (job descriptions written by others, with
// their stated outcomes) and ../shared/reference (recorded server output).
// Outside CI a missing folder skips the test with one line; under CI=true it fails.
package corpus

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// Dir returns ../shared/corpus/<sub...>.
func Dir(t testing.TB, sub ...string) string { return shared(t, "corpus", sub...) }

// Reference returns ../shared/reference/<sub...>.
func Reference(t testing.TB, sub ...string) string { return shared(t, "reference", sub...) }

func shared(t testing.TB, top string, sub ...string) string {
	t.Helper()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "shared", top)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("../shared/%s is missing under CI: %v", top, err)
		}
		t.Skipf("../shared/%s is absent", top)
	}
	return filepath.Join(append([]string{dir}, sub...)...)
}
