package arcrest

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cesub/cesub/pkg/budget"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// FuzzDecodeJSON: A-REX's JSON answers (jobs, versions, delegations) in
// every shape, well-formed or not, decode or fail without a panic, and a
// decoded jobs answer survives re-encoding as the array form.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"job":{"status-code":"201","reason":"Created","id":"abc","state":"ACCEPTING"}}`,
		`{"job":[{"status-code":"200","id":"a1","state":"FINISHED"},{"status-code":"404","reason":"Not Found","id":"gone"}]}`,
		`{"job":[{"status-code":201,"id":"x"}]}`, `{"version":"1.0"}`, `{"version":["1.0","1.1"]}`,
		`{"delegation":[{"id":"d1","type":"jwt"}]}`, `{"job":null}`, `{"job":[null]}`, `{"job":{"status-code":"x"}}`,
		`{"job":[` + `{"id":"a"},` + `{"id":"b"}]}`, "\x00", `[[[[[[[[[[`,
	} {
		f.Add([]byte(s))
	}
	m := budget.Msg{Source: "https://ce.example.org/arex", What: "answer", Limits: arexhttp.JobListLimits}
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeJobs(m, bytes.NewReader(b))
		if err == nil {
			re, err := json.Marshal(map[string]any{"job": entries})
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			again, err := decodeJobs(m, bytes.NewReader(re))
			if err != nil || len(again) != len(entries) {
				t.Fatalf("re-decoded %d entries (%v), had %d", len(again), err, len(entries))
			}
			for i := range again {
				if again[i] != entries[i] {
					t.Fatalf("entry %d: %+v became %+v", i, entries[i], again[i])
				}
			}
		}
		var vr versionsResponse
		_ = decodeJSON(m, bytes.NewReader(b), &vr)
		var dr delegationsResponse
		_ = decodeJSON(m, bytes.NewReader(b), &dr)
	})
}
