package emies

import (
	"os"
	"testing"

	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
)

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

func parseXRSL(t *testing.T, src string) []jobdesc.Job {
	t.Helper()
	jobs, err := xrsl.Parse("test.xrsl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}
