package submitfile

import (
	"fmt"
	"strings"
	"testing"
)

// TestDoublingMacrosAreBounded: a few hundred bytes of macros that double
// each other would expand to terabytes; the expansion stops with an error
// naming the line, and nothing is queued.
func TestDoublingMacrosAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("executable = /bin/true\nA1 = xxxxxxxxxxxxxxxx\n")
	for i := 2; i <= 40; i++ {
		fmt.Fprintf(&b, "A%d = $(A%d)$(A%d)\n", i, i-1, i-1)
	}
	b.WriteString("arguments = $(A40)\nqueue\n")
	if b.Len() > 1000 {
		t.Fatalf("the file is %d bytes; the point is a small file", b.Len())
	}
	made := 0
	_, err := Parse("double.sub", []byte(b.String()), ParseOptions{EachProc: func(int, *Proc) error { made++; return nil }})
	if err == nil || !strings.Contains(err.Error(), "double.sub:") || !strings.Contains(err.Error(), "grows past") || made != 0 {
		t.Fatalf("doubling macros: %v (%d procs made)", err, made)
	}
	// the same bound in a queue count and in an if condition
	for _, src := range []string{
		strings.Replace(b.String(), "arguments = $(A40)\nqueue\n", "queue $(A40)\n", 1),
		strings.Replace(b.String(), "arguments = $(A40)\n", "if $(A40)\nendif\n", 1),
	} {
		if _, err := Parse("double.sub", []byte(src), ParseOptions{}); err == nil || !strings.Contains(err.Error(), "grows past") {
			t.Errorf("doubling macros elsewhere: %v", err)
		}
	}
}

// TestHugeQueueRefusedEarly: a queue count past the limit is refused before
// any proc is made (it used to make a million first, 3 GB).
func TestHugeQueueRefusedEarly(t *testing.T) {
	for _, q := range []string{"queue 100000000", "queue 9223372036854775807", "queue 600000 in (a, b)"} {
		made := 0
		_, err := Parse("big.sub", []byte("executable = /bin/true\n"+q+"\n"), ParseOptions{EachProc: func(int, *Proc) error { made++; return nil }})
		if err == nil || !strings.Contains(err.Error(), "big.sub:2:") || !strings.Contains(err.Error(), "more than the 1000000") || made != 0 {
			t.Errorf("%s: %v (%d procs made first)", q, err, made)
		}
	}
	// procs of earlier queue statements count too
	_, err := Parse("big.sub", []byte("executable = /bin/true\nqueue 10\nqueue 5\n"), ParseOptions{MaxProcs: 12})
	if err == nil || !strings.Contains(err.Error(), "big.sub:3:") || !strings.Contains(err.Error(), "(10 made before it)") {
		t.Errorf("second queue over the limit: %v", err)
	}
}
