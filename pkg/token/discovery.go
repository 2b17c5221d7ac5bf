package token

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cesub/cesub/internal/ownfile"
)

// Env is what discovery reads from the process: injectable for tests.
type Env struct {
	Getenv func(string) string
	// ReadFile reads a regular file through one descriptor and returns
	// what fstat said of that descriptor (its owner and mode are checked).
	ReadFile func(string) ([]byte, fs.FileInfo, error)
	EUID     int
}

// OSEnv is the real process environment.
func OSEnv() Env {
	return Env{Getenv: os.Getenv, ReadFile: ownfile.ReadFile, EUID: os.Geteuid()}
}

// Found is a token with where it came from.
type Found struct {
	Token Token
	// Source names the discovery step: "BEARER_TOKEN", "BEARER_TOKEN_FILE (/path)", ...
	Source string
	// Path is the file read, if any.
	Path string
	// Warnings for the user (loose permissions, legacy variable).
	Warnings []string
}

// ErrNotFound means no discovery step produced a token.
var ErrNotFound = errors.New("no bearer token found (looked at BEARER_TOKEN, BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u<euid>, /tmp/bt_u<euid>, ARC_OTOKEN)")

// DiscoveryError is a discovery step that found something unusable: the
// WLCG specification says to stop there rather than try the next step.
type DiscoveryError struct {
	Source string
	Err    error
}

func (e *DiscoveryError) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *DiscoveryError) Unwrap() error { return e.Err }

// DiscoveryPaths lists the discovery steps in order, as (source label, file path);
// an empty path means the value is the variable's content.
func DiscoveryPaths(env Env) [][2]string {
	steps := [][2]string{}
	if _, ok := lookup(env, "BEARER_TOKEN"); ok {
		steps = append(steps, [2]string{"BEARER_TOKEN", ""})
	}
	if p, ok := lookup(env, "BEARER_TOKEN_FILE"); ok {
		steps = append(steps, [2]string{"BEARER_TOKEN_FILE", p})
	}
	name := "bt_u" + strconv.Itoa(env.EUID)
	if d, ok := lookup(env, "XDG_RUNTIME_DIR"); ok && d != "" {
		steps = append(steps, [2]string{"$XDG_RUNTIME_DIR/" + name, filepath.Join(d, name)})
	} else {
		steps = append(steps, [2]string{"/tmp/" + name, filepath.Join("/tmp", name)})
	}
	return steps
}

// lookup treats an empty variable as unset: an empty value would only
// lead to "continue with the next step" anyway.
func lookup(env Env, k string) (string, bool) {
	v := env.Getenv(k)
	return v, v != ""
}

// Discover runs WLCG Bearer Token Discovery: BEARER_TOKEN, then the file named
// by BEARER_TOKEN_FILE, then $XDG_RUNTIME_DIR/bt_u$EUID if XDG_RUNTIME_DIR is
// set, else /tmp/bt_u$EUID. Contents are trimmed of C isspace characters; an
// empty result or a missing file moves on to the next step (as ARC does); an
// unreadable file, one that is not regular, one another user owns or may
// write (as ssh refuses such keys), or characters outside RFC 6750 b64token
// stop with an error naming the step. When every step finds nothing, the
// legacy ARC_OTOKEN variable is used with a warning.
func Discover(env Env) (*Found, error) {
	for _, step := range DiscoveryPaths(env) {
		label, path := step[0], step[1]
		var content, warning string
		if path == "" {
			content = env.Getenv(label)
		} else {
			b, warn, err := readTokenFile(env, path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			label = sourceLabel(label, path)
			if err != nil {
				return nil, &DiscoveryError{Source: label, Err: err}
			}
			content, warning = string(b), warn
		}
		tok := TrimSpace(content)
		if tok == "" {
			continue
		}
		if err := ValidB64Token(tok); err != nil {
			return nil, &DiscoveryError{Source: label, Err: err}
		}
		f := &Found{Token: Token(tok), Source: label, Path: path}
		if warning != "" {
			f.Warnings = append(f.Warnings, warning)
		}
		return f, nil
	}
	if legacy := TrimSpace(env.Getenv("ARC_OTOKEN")); legacy != "" {
		if err := ValidB64Token(legacy); err != nil {
			return nil, &DiscoveryError{Source: "ARC_OTOKEN", Err: err}
		}
		return &Found{Token: Token(legacy), Source: "ARC_OTOKEN",
			Warnings: []string{"using the legacy ARC_OTOKEN variable; set BEARER_TOKEN or BEARER_TOKEN_FILE instead"}}, nil
	}
	return nil, ErrNotFound
}

// readTokenFile reads a token file through one descriptor (a FIFO or device
// is refused without blocking) and refuses one that another user owns or
// may write: its owner would choose who the jobs run as. A file others may
// read is used with a warning.
func readTokenFile(env Env, path string) (b []byte, warning string, err error) {
	b, fi, err := env.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("cannot read token file: %w", err)
	}
	if err := ownfile.Check(path, fi, env.EUID); err != nil {
		return nil, "", fmt.Errorf("token file %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		warning = fmt.Sprintf("token file %s has mode %04o: other users may read it (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	return b, warning, nil
}

func sourceLabel(label, path string) string {
	if path != "" && label != path && label != "/tmp/"+filepath.Base(path) {
		return label + " (" + path + ")"
	}
	return label
}

// FromFile reads an explicit token file (--token-file), with the same trimming
// and validation as discovery but no fall-through.
func FromFile(env Env, path string) (*Found, error) {
	src := "--token-file " + path
	b, warning, err := readTokenFile(env, path)
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("cannot read token file: %w", err)
	}
	if err != nil {
		return nil, &DiscoveryError{Source: src, Err: err}
	}
	tok := TrimSpace(string(b))
	if tok == "" {
		return nil, &DiscoveryError{Source: src, Err: errors.New("file is empty")}
	}
	if err := ValidB64Token(tok); err != nil {
		return nil, &DiscoveryError{Source: src, Err: err}
	}
	f := &Found{Token: Token(tok), Source: src, Path: path}
	if warning != "" {
		f.Warnings = append(f.Warnings, warning)
	}
	return f, nil
}

// TrimSpace strips the C99 isspace characters (space \f \n \r \t \v) from both ends.
func TrimSpace(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\f' || c == '\n' || c == '\r' || c == '\t' || c == '\v' }
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// ValidB64Token checks RFC 6750 section 2.1:
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func ValidB64Token(s string) error {
	if s == "" {
		return errors.New("empty token")
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return fmt.Errorf("invalid character %q at offset 0 (not an RFC 6750 bearer token)", s[0])
	}
	for j := i; j < len(s); j++ {
		if s[j] != '=' {
			return fmt.Errorf("invalid character %q at offset %d (not an RFC 6750 bearer token)", s[j], j)
		}
	}
	return nil
}
