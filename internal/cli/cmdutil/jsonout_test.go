package cmdutil

import (
	"encoding/json"
	"testing"
	"time"
)

func TestEmptyNotNull(t *testing.T) {
	type row struct {
		IDs  []string `json:"ids"`
		Omit []string `json:"omit,omitempty"`
	}
	type doc struct {
		Schema string            `json:"schema"`
		Jobs   []row             `json:"jobs"`
		Ptr    *row              `json:"ptr"`
		Map    map[string]string `json:"map"`
		Any    any               `json:"any"`
		When   time.Time         `json:"when"`
		Raw    []byte            `json:"raw"`
		hidden []int
	}
	when := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   any
		want string
	}{
		{doc{Schema: "s", When: when}, `{"schema":"s","jobs":[],"ptr":null,"map":{},"any":null,"when":"2026-12-05T08:00:00Z","raw":null}`},
		{doc{Jobs: []row{{}}, Ptr: &row{}, Any: row{}, When: when},
			`{"schema":"","jobs":[{"ids":[]}],"ptr":{"ids":[]},"map":{},"any":{"ids":[]},"when":"2026-12-05T08:00:00Z","raw":null}`},
		{[]row(nil), `[]`},
		{&doc{Jobs: []row{{IDs: []string{"a"}, Omit: []string{"b"}}}, When: when}, `{"schema":"","jobs":[{"ids":["a"],"omit":["b"]}],"ptr":null,"map":{},"any":null,"when":"2026-12-05T08:00:00Z","raw":null}`},
	} {
		b, err := json.Marshal(emptyNotNull(tc.in))
		if err != nil || string(b) != tc.want {
			t.Errorf("%+v:\n got %s %v\nwant %s", tc.in, b, err, tc.want)
		}
	}
}
