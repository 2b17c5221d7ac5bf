package token

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// WritePath is where `token get --write` stores a token so that discovery
// finds it: BEARER_TOKEN_FILE if set, else $XDG_RUNTIME_DIR/bt_u$EUID, else
// /tmp/bt_u$EUID.
func WritePath(env Env) string {
	if p := env.Getenv("BEARER_TOKEN_FILE"); p != "" {
		return p
	}
	name := "bt_u" + strconv.Itoa(env.EUID)
	if d := env.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, name)
	}
	return filepath.Join("/tmp", name)
}

// WriteFile stores a token atomically with mode 0600: a temporary file in the
// same directory, fsynced, then renamed over the target.
func WriteFile(path string, t Token) error {
	if err := writePrivate(path, []byte(t.Reveal()+"\n")); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	return nil
}

// writePrivate stores data atomically with mode 0600 (see WriteFile).
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
