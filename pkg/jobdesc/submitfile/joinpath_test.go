package submitfile

import (
	"path/filepath"
	"testing"
)

// TestJoinPath: the shortcut for clean paths gives what filepath.Join does.
func TestJoinPath(t *testing.T) {
	dirs := []string{"/", "/var/lib", "/var//lib", "/var/lib/", "/var/./lib", "/var/../lib", "rel/dir", "", "/a/..b", "/a/b."}
	paths := []string{"x", "a/b.log", "a//b", "./a", "../a", "a/.", "a/..", "a/", "/abs", "", ".", "..", "..a/b", "a/.b", "a/b../c"}
	for _, d := range dirs {
		for _, p := range paths {
			if got, want := joinPath(d, p), filepath.Join(d, p); got != want {
				t.Errorf("joinPath(%q, %q) = %q, want %q", d, p, got, want)
			}
		}
	}
}
