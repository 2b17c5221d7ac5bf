package emies

import (
	"os"
	"strings"
	"testing"

	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/xrsl"
)

// esStatusFromRaw reads a state as esStatus.raw writes it.
func esStatusFromRaw(raw string) esStatus {
	st, attrs, _ := strings.Cut(raw, ":")
	s := esStatus{Status: st}
	if attrs != "" {
		s.Attributes = strings.Split(attrs, ",")
	}
	return s
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

func parseXRSL(t *testing.T, src string) []jobdesc.Job {
	t.Helper()
	jobs, err := xrsl.Parse("test.xrsl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}
