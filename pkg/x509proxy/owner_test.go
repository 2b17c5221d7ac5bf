package x509proxy

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadProxyRefusesOtherUsersFile: a proxy file another user owns (also
// reached through a symlink) or that others may write is refused, naming
// the file and its owner; a FIFO is refused without blocking; the user's
// own 0600 and 0644 proxies load.
func TestLoadProxyRefusesOtherUsersFile(t *testing.T) {
	p := newPKI(t, 24*time.Hour)
	proxy, err := NewProxy(p.user, Options{Lifetime: time.Hour, Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		mode  os.FileMode
		owner int // -1: the test's own uid
		link  bool
		want  string // "" loads
	}{
		{"other user's", 0o600, 12345, false, "belongs to uid 12345"},
		{"symlink to other user's", 0o600, 12345, true, "belongs to uid 12345"},
		{"own world-writable", 0o646, -1, false, "other users can write it"},
		{"own 0644", 0o644, -1, false, ""},
		{"own 0600", 0o600, -1, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x509up_u0")
			if err := WriteFile(path, proxy); err != nil {
				t.Fatal(err)
			}
			giveAway(t, path, c.mode, c.owner)
			if c.link {
				link := path + ".link"
				if err := os.Symlink(path, link); err != nil {
					t.Fatal(err)
				}
				path = link
			}
			_, err := LoadProxy(path)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("own proxy refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("proxy %s loaded; want it refused (%s)", path, c.want)
			case c.want != "" && (!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path)):
				t.Fatalf("error %q does not name %s and say %q", err, path, c.want)
			}
		})
	}
}

func TestLoadProxyRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x509up")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadProxy(path); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("FIFO proxy: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadProxy blocked on a FIFO")
	}
}

func giveAway(t *testing.T, path string, mode os.FileMode, owner int) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if owner < 0 {
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another uid needs root")
	}
	if err := os.Lchown(path, owner, owner); err != nil {
		t.Fatal(err)
	}
}
