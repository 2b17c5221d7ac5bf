package docscmd

import (
	"os"
	"path/filepath"
	"testing"
)

// TestConfigReferenceUpToDate keeps docs/configuration.md generated from the declarations.
func TestConfigReferenceUpToDate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != ConfigReference() {
		t.Fatal("docs/configuration.md is stale: run `make docs` (cesub docs config > docs/configuration.md)")
	}
}
