package arcrest

import (
	"encoding/json"
	"testing"
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
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeJobs(b)
		if err == nil {
			re, err := json.Marshal(map[string]any{"job": entries})
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			again, err := decodeJobs(re)
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
		_ = jsonUnmarshal(b, &vr)
		var dr delegationsResponse
		_ = jsonUnmarshal(b, &dr)
	})
}
