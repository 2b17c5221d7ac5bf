package ce

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckLocalID(t *testing.T) {
	r := &Registry{}
	r.Register(RegInfo{Flavour: "test", ValidLocalID: func(id string) error {
		if strings.HasPrefix(id, "bad") {
			return errors.New("not this flavour's")
		}
		return nil
	}})
	for _, tc := range []struct {
		id   string
		want string // "" = accepted
	}{
		{"Wd2NDmABFKDmnTVKDmABFKDmHxXXXXBFKDmABFKDmhRxDJm", ""},
		{"123.0", ""},
		{"../../x", "starts with a dot"},
		{"a/../../x", "contains '/'"},
		{"..", "starts with a dot"},
		{".hidden", "starts with a dot"},
		{"a?b=c", "contains '?'"},
		{"with space", "contains ' '"},
		{"tab\tid", `contains '\t'`},
		{"back\\slash", `contains '\\'`},
		{"naïve", "contains 'ï'"},
		{"", "empty"},
		{strings.Repeat("a", MaxLocalIDLen+1), "more than 128"},
		{"bad1", "not this flavour's"},
	} {
		err := r.CheckLocalID("test", tc.id)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q refused: %v", tc.id, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want %q", tc.id, err, tc.want)
		}
	}
	rs := r.CheckResults([]Result{{ID: "x", Job: &Job{LocalID: "../x", Flavour: "test"}}, {ID: "y", Job: &Job{LocalID: "ok", Flavour: "test"}}, {Err: errors.New("refused")}})
	if rs[0].Job != nil || rs[0].Err == nil || rs[1].Job == nil || rs[2].Err == nil {
		t.Errorf("CheckResults: %+v", rs)
	}
}
