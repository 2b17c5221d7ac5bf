package budget

import (
	"errors"
	"io"
	"strings"
	"testing"
)

var testLimits = Limits{Bytes: 4096, Elements: 50, Entries: 10, Attrs: 3, Depth: 4, Text: 64}

func refusedFor(t *testing.T, err error, limit string) {
	t.Helper()
	var be *Error
	if !errors.As(err, &be) || be.Limit != limit {
		t.Fatalf("want a refusal for %q, got %v", limit, err)
	}
	if !strings.Contains(err.Error(), "https://ce.example.org/arex: the test answer has more than") {
		t.Errorf("the error does not name the server and the limit: %v", err)
	}
}

func TestJSONWithinLimits(t *testing.T) {
	m := Msg{Source: "https://ce.example.org/arex", What: "test answer", Limits: testLimits}
	var v struct {
		Job []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"job"`
		N int `json:"n"`
	}
	err := m.DecodeJSON(strings.NewReader(`{"job":[{"id":"a\"b","state":"RUNNING"},{"id":"c","state":"x"}],"n":12}`), &v)
	if err != nil || len(v.Job) != 2 || v.Job[0].ID != `a"b` || v.N != 12 {
		t.Fatalf("got %+v, %v", v, err)
	}
	if err := m.DecodeJSON(strings.NewReader(""), &v); err != io.EOF {
		t.Fatalf("an empty body: want io.EOF, got %v", err)
	}
}

func TestJSONLimits(t *testing.T) {
	m := Msg{Source: "https://ce.example.org/arex", What: "test answer", Limits: testLimits}
	cases := map[string]string{
		"entries in one list": `{"job":[` + strings.Repeat(`{},`, 20) + `{}]}`,
		"values":              `[` + strings.Repeat(`[1,2,3,4,5],`, 12) + `1]`,
		"levels of nesting":   strings.Repeat(`[`, 5) + strings.Repeat(`]`, 5),
		"bytes in one string": `{"id":"` + strings.Repeat("x", 100) + `"}`,
		"bytes in one value":  `{"id":` + strings.Repeat("1", 100) + `}`,
		"bytes":               `[` + strings.Repeat(" ", 5000) + `1]`,
	}
	for limit, doc := range cases {
		var v any
		refusedFor(t, m.DecodeJSON(strings.NewReader(doc), &v), limit)
	}
}

func TestXMLLimits(t *testing.T) {
	m := Msg{Source: "https://ce.example.org/arex", What: "test answer", Limits: testLimits}
	var ok struct {
		Dirs []string `xml:"dir"`
	}
	if err := m.DecodeXML(strings.NewReader(`<l xmlns="urn:x"><dir>a</dir><dir a="1">b</dir></l>`), &ok); err != nil || len(ok.Dirs) != 2 {
		t.Fatalf("got %+v, %v", ok, err)
	}
	cases := map[string]string{
		"entries in one element":    `<l>` + strings.Repeat(`<dir/>`, 11) + `</l>`,
		"elements":                  `<l>` + strings.Repeat(`<a><b/><c/><d/><e/></a>`, 11) + `</l>`,
		"levels of nesting":         strings.Repeat(`<a>`, 5) + strings.Repeat(`</a>`, 5),
		"attributes on one element": `<l a="1" b="2" c="3" d="4"/>`,
		"bytes in one tag":          `<l a="` + strings.Repeat("x", 100) + `"/>`,
		"bytes in one text":         `<l>` + strings.Repeat("x", 100) + `</l>`,
	}
	for limit, doc := range cases {
		var v struct{}
		refusedFor(t, m.DecodeXML(strings.NewReader(doc), &v), limit)
	}
}

func TestReadAll(t *testing.T) {
	m := Msg{Source: "https://ce.example.org/arex", What: "test answer", Limits: Limits{Bytes: 10}}
	if b, err := m.ReadAll(strings.NewReader("0123456789")); err != nil || string(b) != "0123456789" {
		t.Fatalf("got %q, %v", b, err)
	}
	_, err := m.ReadAll(strings.NewReader("0123456789A"))
	refusedFor(t, err, "bytes")
}
