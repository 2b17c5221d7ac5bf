package htcondor

import "testing"

func TestErrorStackText(t *testing.T) {
	for in, want := range map[string]string{
		"QMGMT:0:cesub testbed policy: big\n": "cesub testbed policy: big",
		"QMGMT:0:one\nSCHEDD:2:two":           "one; two",
		"plain: text with colons":             "plain: text with colons",
		"":                                    "",
	} {
		if got := errorStackText(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
