package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/corpus"
)

// TestDescribeEveryCorpusFile runs `cesub describe -o json` on every file of
// the shared corpus: each either prints the describe schema (exit 0) or is a
// description its source states invalid (or an incomplete fragment), which
// exits 2 with file:line:column.
func TestDescribeEveryCorpusFile(t *testing.T) {
	dir := corpus.Dir(t)
	var files []string
	for _, sub := range []string{"xrsl", "submit", "xrsl-cases", "adl-cases", "submit-cases"} {
		all, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		for _, f := range all {
			if !strings.HasSuffix(f, ".json") {
				files = append(files, f)
			}
		}
	}
	if len(files) < 390 {
		t.Fatalf("only %d corpus files", len(files))
	}
	pos := regexp.MustCompile(`:\d+:\d+: |: no 'queue'|: XML syntax|\.sub: `)
	ok, refused := 0, 0
	for _, f := range files {
		from := map[string]string{"xrsl": "xrsl", "xrsl-cases": "xrsl", "adl-cases": "adl", "submit": "submit", "submit-cases": "submit"}[filepath.Base(filepath.Dir(f))]
		r := run(t, nil, "describe", "-o", "json", "--from", from, f)
		switch r.code {
		case 0:
			var js struct {
				Schema string
				Jobs   []json.RawMessage
			}
			if err := json.Unmarshal([]byte(r.out), &js); err != nil || js.Schema != "cesub.describe/v1" {
				t.Errorf("%s: bad JSON: %v", filepath.Base(f), err)
			}
			ok++
		case 2:
			if !pos.MatchString(r.err) {
				t.Errorf("%s: exit 2 without a position: %s", filepath.Base(f), r.err)
			}
			refused++
		default:
			t.Errorf("%s: exit %d: %s", filepath.Base(f), r.code, r.err)
		}
	}
	t.Logf("describe -o json on %d corpus files: %d described, %d refused with a positioned error", len(files), ok, refused)
}

func TestDescribeTranslations(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "job.xrsl")
	_ = os.WriteFile(x, []byte(`&(executable=run.sh)(arguments=a)(stdout=out)(walltime=60)(memory=1000)(runtimeenvironment="X")`), 0o644)
	r := run(t, nil, "describe", x, "--to", "adl")
	for _, want := range []string{"<WallTime>3600</WallTime>", "<IndividualPhysicalMemory>1048576000<", "<Name>out</Name>", "<IsExecutable>true</IsExecutable>"} {
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Errorf("--to adl lacks %s (exit %d):\n%s%s", want, r.code, r.out, r.err)
		}
	}
	r = run(t, nil, "describe", x, "--to", "classad")
	if r.code != 0 || !strings.Contains(r.out, "maxWallTime = 60") || !strings.Contains(r.err, "runtimeenvironment") {
		t.Errorf("--to classad: %d\n%s\n%s", r.code, r.out, r.err)
	}
	bad := filepath.Join(dir, "bad.xrsl")
	_ = os.WriteFile(bad, []byte("&(executable=a)\n(arguments=\"x)"), 0o644)
	if r = run(t, nil, "describe", bad); r.code != 2 || !strings.Contains(r.err, "bad.xrsl:2:12: unterminated double-quoted string") {
		t.Errorf("bad xRSL: %d %q", r.code, r.err)
	}
	if r = run(t, nil, "describe", x, "--to", "yaml"); r.code != 2 {
		t.Errorf("--to yaml: %d", r.code)
	}
}
