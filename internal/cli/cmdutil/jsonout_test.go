package cmdutil

import (
	"bytes"
	"encoding/json"
	"io"
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

// TestWriteJSONIsTheEncoders: the streamed output is byte for byte what
// json.Encoder (indent "  ", no HTML escaping) writes of emptyNotNull(v).
func TestWriteJSONIsTheEncoders(t *testing.T) {
	type leaf struct {
		N    int               `json:"n,omitempty"`
		S    string            `json:"s"`
		Tags []string          `json:"tags"`
		M    map[string]int    `json:"m,omitempty"`
		Raw  json.RawMessage   `json:"raw,omitempty"`
		Ptr  *leaf             `json:"ptr,omitempty"`
		Any  any               `json:"any"`
		Z    map[string]string `json:"z"`
	}
	type embedded struct{ E int }
	type withEmbedded struct {
		embedded
		Rows []leaf `json:"rows"`
	}
	type withString struct {
		N    int    `json:"n,string"`
		Rows []leaf `json:"rows"`
	}
	type doc struct {
		Schema  string   `json:"schema"`
		Jobs    []leaf   `json:"jobs"`
		Nested  [][]leaf `json:"nested"`
		Skip    int      `json:"-"`
		Dash    int      `json:"-,"`
		NoTag   bool     `json:""`
		Plain   float64
		Empty   []int      `json:"empty,omitempty"`
		When    time.Time  `json:"when"`
		WhenP   *time.Time `json:"whenP"`
		HTML    string     `json:"html"`
		Bytes   []byte     `json:"bytes"`
		Iface   any        `json:"iface"`
		Private []int
		hidden  int
	}
	when := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	full := leaf{N: 3, S: "a\"b<c>&", Tags: []string{"x", "y"}, M: map[string]int{"b": 2, "a": 1}, Raw: json.RawMessage(`{"k": [1, 2]}`),
		Ptr: &leaf{S: "inner"}, Any: []any{1, "two", nil, map[string]any{}}}
	for i, v := range []any{
		nil, 42, "s", []int(nil), []int{}, []int{1, 2, 3}, [][]int{{}, {1}, nil}, map[string]int(nil),
		leaf{}, &leaf{}, full, []leaf{full, {}, full}, []*leaf{nil, &full},
		doc{}, &doc{Schema: "cesub.status/v1", Jobs: []leaf{full, {}}, Nested: [][]leaf{{full}, nil, {}}, Skip: 9, Dash: 8, NoTag: true, Plain: 1.5,
			When: when, WhenP: &when, HTML: "<a href='x'>&</a>", Bytes: []byte("hi"), Iface: []leaf{full}, Private: []int{7}, hidden: 1},
		withEmbedded{embedded{1}, []leaf{full}}, withString{5, []leaf{{}}},
		struct {
			Only []leaf `json:"only,omitempty"`
		}{},
		[]any{full, []leaf{}, nil},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(emptyNotNull(v)); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := writeJSON(&got, v); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got.String() != want.String() {
			t.Errorf("%d: %T streamed differs:\n got %s\nwant %s", i, v, got.String(), want.String())
		}
	}
}

// BenchmarkWriteJSON: 10,000 status rows, as `status -a -o json` writes them.
func BenchmarkWriteJSON(b *testing.B) {
	type row struct {
		ID, Name, CE, State, Specific string
		Submitted                     time.Time
	}
	rows := make([]row, 10000)
	for i := range rows {
		rows[i] = row{ID: "https://localhost:8444/arex/rest/1.0/jobs/1nJODmDg6tAoOSAtDmABFKDmABFKDmABFKDm", Name: "bench", CE: "https://localhost:8444/arex", State: "QUEUING", Specific: "SUBMITTING", Submitted: time.Now()}
	}
	v := struct {
		Schema string `json:"schema"`
		Jobs   []row  `json:"jobs"`
	}{"cesub.status/v1", rows}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := writeJSON(io.Discard, v); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzWriteJSON: for any JSON document, as a value and as the list field of
// a struct, the streamed output is the Encoder's.
func FuzzWriteJSON(f *testing.F) {
	for _, s := range []string{`[]`, `[1,"a",null,{"b":[]}]`, `{"k":[[],[{}]],"h":"<&>"}`, `"x"`, `[{"a":null,"b":[1.5e300]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		list, _ := v.([]any)
		for _, x := range []any{v, struct {
			Schema string `json:"schema"`
			Items  []any  `json:"items"`
			Any    any    `json:"any,omitempty"`
		}{"s", list, v}} {
			var want, got bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(emptyNotNull(x)); err != nil {
				return
			}
			if err := writeJSON(&got, x); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("streamed differs:\n got %s\nwant %s", got.String(), want.String())
			}
		}
	})
}

// TestJSONListIsPrintJSON: a list written an element at a time is byte for
// byte what PrintJSON writes of the whole slice.
func TestJSONListIsPrintJSON(t *testing.T) {
	type leaf struct {
		S    string            `json:"s"`
		Tags []string          `json:"tags"`
		M    map[string]string `json:"m,omitempty"`
		Ptr  *leaf             `json:"ptr,omitempty"`
	}
	full := leaf{S: "a\"b<c>&\x1b", Tags: []string{"x"}, M: map[string]string{"k": "v"}, Ptr: &leaf{S: "in"}}
	for _, rows := range [][]leaf{nil, {full}, {{}, full}, {full, {}, full, {S: "last"}}} {
		var want, got bytes.Buffer
		if err := (&Factory{IO: &IOStreams{Out: &want}}).PrintJSON(rows); err != nil {
			t.Fatal(err)
		}
		l := (&Factory{IO: &IOStreams{Out: &got}}).NewJSONList()
		for _, r := range rows {
			if err := l.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d rows: streamed list differs:\n got %q\nwant %q", len(rows), got.String(), want.String())
		}
	}
}
