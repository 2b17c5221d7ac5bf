package submitfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseIn(t *testing.T, dir, src string) error {
	t.Helper()
	_, err := Parse("s.sub", []byte(src), ParseOptions{Options: Options{Dir: dir, Env: func(string) string { return "" },
		Now: time.Unix(0, 0)}, MaxProcs: 10})
	return err
}

// TestNULRefusedWithPosition: a NUL byte in a submit file, an included
// file or a `queue from` item file is refused at its file:line:col; it used
// to go raw into the ClassAd (Cmd = "/bin/ec\0ho": CEDAR strings end at NUL).
func TestNULRefusedWithPosition(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "items.txt"), []byte("a\nb\x00c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inc.sub"), []byte("# included\narguments = x\x00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{"executable = /bin/ec\x00ho\nqueue\n", "s.sub:1:21: a NUL byte"},
		{"executable = /bin/echo\n\narguments = a \\\n  b\x00\nqueue\n", "s.sub:4:4: a NUL byte"},
		{"# comment \x00\nexecutable = /bin/echo\nqueue\n", "s.sub:1:11: a NUL byte"},
		{"executable = /bin/echo\ninclude : inc.sub\nqueue\n", "inc.sub:2:14: a NUL byte"},
		{"executable = /bin/echo\narguments = $(x)\nqueue x from items.txt\n", "items.txt:2:2: a NUL byte"},
	} {
		err := parseIn(t, dir, c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want %q", c.src, err, c.want)
		}
	}
}

// TestLongLineRefusedWithPosition: a line past MaxLine is refused at the
// start of that line, saying what the limit is (a 100 MB one-line file
// failed as "1:0: bufio.Scanner: token too long").
func TestLongLineRefusedWithPosition(t *testing.T) {
	long := strings.Repeat("x", MaxLine+1)
	for _, c := range []struct{ src, want string }{
		{"arguments = " + long + "\nqueue\n", "s.sub:1:1: line longer than 16 MiB (the limit): refused"},
		{"executable = /bin/echo\n\n" + long, "s.sub:3:1: line longer than 16 MiB (the limit): refused"},
	} {
		err := parseIn(t, t.TempDir(), c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d-byte file: %v; want %q", len(c.src), err, c.want)
		}
	}
	// the limit is not lower than it says
	if err := parseIn(t, t.TempDir(), "executable = /bin/echo\narguments = "+strings.Repeat("x", MaxLine-20)+"\nqueue\n"); err != nil &&
		strings.Contains(err.Error(), "line longer") {
		t.Errorf("a line under the limit was refused: %v", err)
	}
}
