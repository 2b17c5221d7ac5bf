package token

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// otherUID owns the files "another user" planted; only root can make them.
const otherUID = 12345

// plantFile writes a token file with mode and, when owner is not -1, gives
// it to that uid (the test skips unless it runs as root).
func plantFile(t *testing.T, path, content string, mode os.FileMode, owner int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
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

// TestDiscoverRefusesOtherUsersFiles: a discovered token file (or one named
// by BEARER_TOKEN_FILE or --token-file, also through a symlink) that another
// user owns or may write is refused, naming the file and its owner; a
// readable one of the user's own is used with a warning.
func TestDiscoverRefusesOtherUsersFiles(t *testing.T) {
	const mallory = "eyJzdWIiOiJNQUxMT1JZIn0.x.y"
	cases := []struct {
		name    string
		mode    os.FileMode
		owner   int // -1: the test's own uid
		link    bool
		wantErr []string
		warn    bool
	}{
		{"other user's 0644", 0o644, otherUID, false, []string{"belongs to uid 12345", "refused"}, false},
		{"other user's 0600", 0o600, otherUID, false, []string{"belongs to uid 12345"}, false},
		{"own symlink to other user's file", 0o600, otherUID, true, []string{"belongs to uid 12345"}, false},
		{"own 0666", 0o666, -1, false, []string{"mode 0666", "other users can write it", "refused"}, false},
		{"own 0620", 0o620, -1, false, []string{"other users can write it"}, false},
		{"own 0644", 0o644, -1, false, nil, true},
		{"own 0600", 0o600, -1, false, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			env := OSEnv()
			file := filepath.Join(dir, "bt_u"+itoa(env.EUID))
			plantFile(t, file, mallory+"\n", c.mode, c.owner)
			named := file
			if c.link {
				named = filepath.Join(dir, "link")
				if err := os.Symlink(file, named); err != nil {
					t.Fatal(err)
				}
			}
			discovered := env
			discovered.Getenv = func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": dir}[k] }
			viaVar := env
			viaVar.Getenv = func(k string) string { return map[string]string{"BEARER_TOKEN_FILE": named}[k] }
			for how, try := range map[string]func() (*Found, error){
				"discovery":         func() (*Found, error) { return Discover(discovered) },
				"BEARER_TOKEN_FILE": func() (*Found, error) { return Discover(viaVar) },
				"--token-file":      func() (*Found, error) { return FromFile(env, named) },
			} {
				if how == "discovery" && c.link {
					continue
				}
				checkFound(t, how, named, c.wantErr, c.warn, try)
			}
		})
	}
}

func checkFound(t *testing.T, how, file string, wantErr []string, warn bool, try func() (*Found, error)) {
	t.Helper()
	f, err := try()
	if wantErr != nil {
		if err == nil {
			t.Fatalf("%s: the token of %s was used (source %s); want it refused", how, file, f.Source)
		}
		for _, w := range append(wantErr, file) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", how, err, w)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", how, err)
	}
	if got := len(f.Warnings) > 0; got != warn {
		t.Errorf("%s: warnings %q, want a warning: %v", how, f.Warnings, warn)
	}
}

func itoa(i int) string { return sprint(i) }
