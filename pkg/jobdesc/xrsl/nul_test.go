package xrsl

import (
	"strings"
	"testing"
)

// TestNULRefusedWithPosition: a NUL byte anywhere in an xRSL description
// (a value, a name, a comment) is refused at its file:line:col; it used to
// reach the job ad raw ("/bin/ec\0ho" runs /bin/ec on a schedd).
func TestNULRefusedWithPosition(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"&(executable=\"/bin/ec\x00ho\")", "j.xrsl:1:22:"},
		{"&(executable=/bin/echo)\n(arguments=a\x00b)", "j.xrsl:2:13:"},
		{"&(executable=/bin/echo)\n\n  (jobname=x)(* c\x00 *)", "j.xrsl:3:18:"},
		{"&(exec\x00utable=/bin/echo)", "j.xrsl:1:7:"},
		{"\x00", "j.xrsl:1:1:"},
	} {
		_, err := Parse("j.xrsl", []byte(c.src))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("%q: %v; want an error at %s about the NUL byte", c.src, err, c.want)
		}
	}
}
