package token

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cesub/cesub/internal/ownfile"
)

// LoginState is what a device login keeps beside its refresh token so
// that the token it wrote can be renewed: where to ask, as which client,
// for what, and which token file (with which token) it wrote. A client
// secret is kept only as the path of its file.
type LoginState struct {
	Issuer           string   `json:"issuer"`
	TokenURL         string   `json:"token_endpoint"`
	ClientID         string   `json:"client_id"`
	ClientSecretFile string   `json:"client_secret_file,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	Audiences        []string `json:"audiences,omitempty"`
	TokenFile        string   `json:"token_file"`
	TokenSHA256      string   `json:"token_sha256"` // of the access token last written there
}

// Wrote reports whether t, read from path, is the token this login wrote.
func (s *LoginState) Wrote(path string, t Token) bool {
	return s != nil && path != "" && filepath.Clean(path) == filepath.Clean(s.TokenFile) && s.TokenSHA256 == tokenHash(t)
}

// SetToken records that the login wrote t to path.
func (s *LoginState) SetToken(path string, t Token) {
	s.TokenFile, s.TokenSHA256 = path, tokenHash(t)
}

func tokenHash(t Token) string {
	sum := sha256.Sum256([]byte(t.Reveal()))
	return hex.EncodeToString(sum[:])
}

// LoginStore is the folder holding the device login: refresh-token (the
// refresh token alone) and device-login.json (LoginState), both 0600.
type LoginStore struct {
	Dir  string
	EUID int
	// Read reads a file through one descriptor with its fstat (Env.ReadFile;
	// nil: ownfile.ReadFile).
	Read func(string) ([]byte, fs.FileInfo, error)
}

// Login store file names.
const (
	RefreshTokenFile = "refresh-token"
	LoginStateFile   = "device-login.json"
)

// ConfigDir is cesub's configuration folder: $XDG_CONFIG_HOME/cesub, else
// $HOME/.config/cesub ("" when neither variable is set).
func ConfigDir(env Env) string {
	if d := env.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "cesub")
	}
	if h := env.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "cesub")
	}
	return ""
}

// NewLoginStore is the store in ConfigDir(env).
func NewLoginStore(env Env) (LoginStore, error) {
	d := ConfigDir(env)
	if d == "" {
		return LoginStore{}, errors.New("no folder for the refresh token: neither XDG_CONFIG_HOME nor HOME is set")
	}
	return LoginStore{Dir: d, EUID: env.EUID, Read: env.ReadFile}, nil
}

// LoginFileError is a login file cesub refuses to use: another user owns
// it or others may read or write it.
type LoginFileError struct {
	Path string
	Why  string
}

func (e *LoginFileError) Error() string {
	return fmt.Sprintf("%s: %s: refused; remove it and log in again with `cesub token get --device`", e.Path, e.Why)
}

// ErrNoLogin: no device login is stored.
var ErrNoLogin = errors.New("no stored device login")

// Save stores the state and the refresh token (rt "" removes an old one).
func (s LoginStore) Save(st *LoginState, rt Token) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("store the device login: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("store the device login: %w", err)
	}
	if rt == "" {
		if err := os.Remove(filepath.Join(s.Dir, RefreshTokenFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the old refresh token: %w", err)
		}
	} else if err := writePrivate(filepath.Join(s.Dir, RefreshTokenFile), []byte(rt.Reveal()+"\n")); err != nil {
		return fmt.Errorf("store the refresh token: %w", err)
	}
	if err := writePrivate(filepath.Join(s.Dir, LoginStateFile), append(b, '\n')); err != nil {
		return fmt.Errorf("store the device login: %w", err)
	}
	return nil
}

// State reads device-login.json (ErrNoLogin when there is none).
func (s LoginStore) State() (*LoginState, error) {
	b, err := s.readPrivate(LoginStateFile)
	if err != nil {
		return nil, err
	}
	var st LoginState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(s.Dir, LoginStateFile), err)
	}
	return &st, nil
}

// RefreshToken reads the stored refresh token (ErrNoLogin when there is none).
func (s LoginStore) RefreshToken() (Token, error) {
	b, err := s.readPrivate(RefreshTokenFile)
	if err != nil {
		return "", err
	}
	rt := TrimSpace(string(b))
	if rt == "" {
		return "", fmt.Errorf("%s is empty: %w", filepath.Join(s.Dir, RefreshTokenFile), ErrNoLogin)
	}
	return Token(rt), nil
}

// RemoveRefreshToken deletes the refresh token (after the issuer rejected it).
func (s LoginStore) RemoveRefreshToken() error {
	if err := os.Remove(filepath.Join(s.Dir, RefreshTokenFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the rejected refresh token: %w", err)
	}
	return nil
}

// readPrivate reads a login file that must be the user's own, a regular
// file, and readable by nobody else.
func (s LoginStore) readPrivate(name string) ([]byte, error) {
	p := filepath.Join(s.Dir, name)
	read := s.Read
	if read == nil {
		read = ownfile.ReadFile
	}
	b, fi, err := read(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoLogin
	}
	if err != nil {
		return nil, fmt.Errorf("device login: %w", err)
	}
	if uid, ok := ownfile.Owner(fi); ok && uid != s.EUID {
		return nil, &LoginFileError{Path: p, Why: fmt.Sprintf("it belongs to uid %d, not to you (uid %d)", uid, s.EUID)}
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return nil, &LoginFileError{Path: p, Why: fmt.Sprintf("it has mode %04o: other users can read or write it (it must be 0600)", m)}
	}
	if len(b) > int(IssuerLimits.Text)+1024 {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, IssuerLimits.Text)
	}
	return b, nil
}

// lock takes an exclusive lock on the store (refresh.lock) so that two
// processes do not refresh at once; call the returned func to release it.
func (s LoginStore) lock() (func(), error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock the device login: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "refresh.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the device login: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the device login: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// ReadSecretFile reads a client secret file (a login's, by reference).
func ReadSecretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("client secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
