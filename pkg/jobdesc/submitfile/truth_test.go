package submitfile

import "testing"

// TestTruth: the words in any ASCII case, numbers, and nothing else (a
// word that only Unicode folding would match is not one).
func TestTruth(t *testing.T) {
	for _, c := range []struct {
		in    string
		v, ok bool
	}{
		{"True", true, true}, {" YES ", true, true}, {"yes", true, true}, {"tRuE", true, true},
		{"", false, true}, {"FALSE", false, true}, {" No", false, true}, {"1", true, true}, {"0.0", false, true},
		{"maybe", false, false}, {"yeſ", false, false}, {"falſe", false, false}, {"truee", false, false},
	} {
		if v, ok := truth(c.in); v != c.v || ok != c.ok {
			t.Errorf("truth(%q) = %v, %v; want %v, %v", c.in, v, ok, c.v, c.ok)
		}
	}
}
