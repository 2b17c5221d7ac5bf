package token

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeEnv builds an Env over a map of variables and a map of files; a file
// whose content is "\x00EACCES" fails with permission denied.
func fakeEnv(vars, files map[string]string, modes map[string]os.FileMode) Env {
	return Env{
		Getenv: func(k string) string { return vars[k] },
		ReadFile: func(p string) ([]byte, fs.FileInfo, error) {
			c, ok := files[p]
			if !ok {
				return nil, nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
			}
			if c == "\x00EACCES" {
				return nil, nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
			}
			m, ok := modes[p]
			if !ok {
				m = 0o600
			}
			return []byte(c), fakeInfo{name: filepath.Base(p), mode: m, uid: 1234}, nil
		},
		EUID: 1234,
	}
}

type fakeInfo struct {
	os.FileInfo
	name string
	mode os.FileMode
	uid  uint32
}

func (f fakeInfo) Sys() any { return &syscall.Stat_t{Uid: f.uid, Mode: uint32(f.mode.Perm())} }

func (f fakeInfo) Name() string      { return f.name }
func (f fakeInfo) Mode() os.FileMode { return f.mode }

const tokA, tokB, tokC, tokD = "aaa.bbb.ccc", "ddd.eee.fff", "ggg.hhh.iii", "jjj.kkk.lll"

// discoverCases are TestDiscover's table: the WLCG bearer token discovery
// order and what each source may hold.
var discoverCases = []struct {
	name       string
	vars       map[string]string
	files      map[string]string
	modes      map[string]os.FileMode
	want       string // token, or "" for an error
	wantSource string
	wantErr    string // substring; "notfound" for ErrNotFound
	wantWarn   string
}{
	{name: "BEARER_TOKEN wins over everything",
		vars:  map[string]string{"BEARER_TOKEN": tokA, "BEARER_TOKEN_FILE": "/f", "XDG_RUNTIME_DIR": "/run/u"},
		files: map[string]string{"/f": tokB, "/run/u/bt_u1234": tokC, "/tmp/bt_u1234": tokD},
		want:  tokA, wantSource: "BEARER_TOKEN"},
	{name: "BEARER_TOKEN_FILE second",
		vars:  map[string]string{"BEARER_TOKEN_FILE": "/f", "XDG_RUNTIME_DIR": "/run/u"},
		files: map[string]string{"/f": tokB, "/run/u/bt_u1234": tokC},
		want:  tokB, wantSource: "BEARER_TOKEN_FILE (/f)"},
	{name: "XDG_RUNTIME_DIR third, with the effective uid",
		vars:  map[string]string{"XDG_RUNTIME_DIR": "/run/u"},
		files: map[string]string{"/run/u/bt_u1234": tokC, "/tmp/bt_u1234": tokD},
		want:  tokC, wantSource: "$XDG_RUNTIME_DIR/bt_u1234 (/run/u/bt_u1234)"},
	{name: "XDG_RUNTIME_DIR set: /tmp is not consulted",
		vars:    map[string]string{"XDG_RUNTIME_DIR": "/run/u"},
		files:   map[string]string{"/tmp/bt_u1234": tokD},
		wantErr: "notfound"},
	{name: "/tmp last when XDG_RUNTIME_DIR is unset",
		files: map[string]string{"/tmp/bt_u1234": tokD},
		want:  tokD, wantSource: "/tmp/bt_u1234"},
	{name: "trims C isspace on both ends",
		vars: map[string]string{"BEARER_TOKEN": " \t\r\n\v\f" + tokA + "\n\v\f \t\r"},
		want: tokA, wantSource: "BEARER_TOKEN"},
	{name: "file content trimmed",
		vars:  map[string]string{"BEARER_TOKEN_FILE": "/f"},
		files: map[string]string{"/f": "\n\n" + tokB + "\n"},
		want:  tokB},
	{name: "empty BEARER_TOKEN moves on",
		vars:  map[string]string{"BEARER_TOKEN": "", "BEARER_TOKEN_FILE": "/f"},
		files: map[string]string{"/f": tokB},
		want:  tokB},
	{name: "whitespace-only BEARER_TOKEN moves on",
		vars:  map[string]string{"BEARER_TOKEN": " \n\t ", "BEARER_TOKEN_FILE": "/f"},
		files: map[string]string{"/f": tokB},
		want:  tokB},
	{name: "empty file moves on",
		vars:  map[string]string{"BEARER_TOKEN_FILE": "/f", "XDG_RUNTIME_DIR": "/run/u"},
		files: map[string]string{"/f": "  \n", "/run/u/bt_u1234": tokC},
		want:  tokC},
	{name: "missing BEARER_TOKEN_FILE moves on (as ARC does)",
		vars:  map[string]string{"BEARER_TOKEN_FILE": "/nope", "XDG_RUNTIME_DIR": "/run/u"},
		files: map[string]string{"/run/u/bt_u1234": tokC},
		want:  tokC},
	{name: "unreadable file stops with an error naming it",
		vars:    map[string]string{"BEARER_TOKEN_FILE": "/f", "XDG_RUNTIME_DIR": "/run/u"},
		files:   map[string]string{"/f": "\x00EACCES", "/run/u/bt_u1234": tokC},
		wantErr: "BEARER_TOKEN_FILE (/f): cannot read token file"},
	{name: "unreadable XDG file stops",
		vars:    map[string]string{"XDG_RUNTIME_DIR": "/run/u"},
		files:   map[string]string{"/run/u/bt_u1234": "\x00EACCES", "/tmp/bt_u1234": tokD},
		wantErr: "$XDG_RUNTIME_DIR/bt_u1234 (/run/u/bt_u1234): cannot read"},
	{name: "invalid characters in BEARER_TOKEN stop discovery",
		vars:    map[string]string{"BEARER_TOKEN": "abc def", "BEARER_TOKEN_FILE": "/f"},
		files:   map[string]string{"/f": tokB},
		wantErr: "BEARER_TOKEN: invalid character ' ' at offset 3"},
	{name: "invalid characters in a file stop discovery",
		vars:    map[string]string{"BEARER_TOKEN_FILE": "/f"},
		files:   map[string]string{"/f": "Bearer " + tokB, "/tmp/bt_u1234": tokD},
		wantErr: "BEARER_TOKEN_FILE (/f): invalid character ' '"},
	{name: "a quote is not b64token",
		vars:    map[string]string{"BEARER_TOKEN": `"` + tokA + `"`},
		wantErr: `invalid character '"' at offset 0`},
	{name: "padding only at the end",
		vars:    map[string]string{"BEARER_TOKEN": "abc=def"},
		wantErr: "invalid character 'd' at offset 4"},
	{name: "trailing padding is valid",
		vars: map[string]string{"BEARER_TOKEN": "abc+/~_-.=="},
		want: "abc+/~_-.=="},
	{name: "nothing anywhere",
		wantErr: "notfound"},
	{name: "legacy ARC_OTOKEN when all four are empty",
		vars:     map[string]string{"ARC_OTOKEN": tokA},
		want:     tokA,
		wantWarn: "legacy ARC_OTOKEN"},
	{name: "ARC_OTOKEN does not beat /tmp",
		vars:  map[string]string{"ARC_OTOKEN": tokA},
		files: map[string]string{"/tmp/bt_u1234": tokD},
		want:  tokD},
	{name: "loose permissions warn but work",
		vars:     map[string]string{"BEARER_TOKEN_FILE": "/f"},
		files:    map[string]string{"/f": tokB},
		modes:    map[string]os.FileMode{"/f": 0o644},
		want:     tokB,
		wantWarn: "mode 0644"},
}

func TestDiscover(t *testing.T) {
	for _, tt := range discoverCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Discover(fakeEnv(tt.vars, tt.files, tt.modes))
			switch {
			case tt.wantErr == "notfound":
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %v (%v)", err, got)
				}
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				var de *DiscoveryError
				if !errors.As(err, &de) {
					t.Fatalf("error %v is not a DiscoveryError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.Token.Reveal() != tt.want {
				t.Errorf("token = %q, want %q", got.Token.Reveal(), tt.want)
			}
			if tt.wantSource != "" && got.Source != tt.wantSource {
				t.Errorf("source = %q, want %q", got.Source, tt.wantSource)
			}
			warn := strings.Join(got.Warnings, "\n")
			if tt.wantWarn == "" && warn != "" || !strings.Contains(warn, tt.wantWarn) {
				t.Errorf("warnings = %q, want %q", warn, tt.wantWarn)
			}
		})
	}
}

func TestFromFileDoesNotFallThrough(t *testing.T) {
	env := fakeEnv(map[string]string{"BEARER_TOKEN": tokA}, map[string]string{"/e": "\n"}, nil)
	if _, err := FromFile(env, "/e"); err == nil || !strings.Contains(err.Error(), "--token-file /e: file is empty") {
		t.Fatalf("empty --token-file: got %v", err)
	}
	if _, err := FromFile(env, "/missing"); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Fatalf("missing --token-file: got %v", err)
	}
}

func TestTokenNeverPrints(t *testing.T) {
	tok := Token(tokA)
	for _, s := range []string{tok.String(), tok.GoString(), sprint(tok), sprintV(tok), sprintS(struct{ T Token }{tok})} {
		if strings.Contains(s, tokA) {
			t.Errorf("token leaked: %q", s)
		}
	}
	b, _ := tok.MarshalJSON()
	if strings.Contains(string(b), tokA) {
		t.Errorf("token leaked in JSON: %s", b)
	}
}

func TestWriteFileAtomic0600(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bt_u1")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, Token(tokB)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %o, want 600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	if TrimSpace(string(b)) != tokB {
		t.Errorf("content = %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWritePath(t *testing.T) {
	cases := []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"BEARER_TOKEN_FILE": "/x/tok", "XDG_RUNTIME_DIR": "/run/u"}, "/x/tok"},
		{map[string]string{"XDG_RUNTIME_DIR": "/run/u"}, "/run/u/bt_u1234"},
		{nil, "/tmp/bt_u1234"},
	}
	for _, c := range cases {
		if got := WritePath(fakeEnv(c.vars, nil, nil)); got != c.want {
			t.Errorf("WritePath(%v) = %q, want %q", c.vars, got, c.want)
		}
	}
}

func TestDiscoverRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "bt")
	if err := syscallMkfifo(fifo); err != nil {
		t.Skip("mkfifo:", err)
	}
	env := OSEnv()
	env.Getenv = func(k string) string {
		if k == "BEARER_TOKEN_FILE" {
			return fifo
		}
		return ""
	}
	done := make(chan error, 1)
	go func() { _, err := Discover(env); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is not a regular file") {
			t.Fatalf("FIFO: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("discovery blocked on a FIFO")
	}
	if _, err := FromFile(env, fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("--token-file FIFO: %v", err)
	}
}
