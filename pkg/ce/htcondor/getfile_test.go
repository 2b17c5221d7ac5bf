package htcondor

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// These tests drive download, the receiving side of a schedd's
// TRANSFER_DATA_WITH_PERMS, against fakeSchedd on 127.0.0.1: a whole fake
// schedd (authentication, queue) is not needed to send it hostile names,
// modes and sizes.

// fakeFile is one entry a fake schedd sends: a folder, or a file of body
// (sent whole, then extra, in one chunk) announced as len(body) bytes.
type fakeFile struct {
	name, body, extra string
	mode              int64
	mkdir             bool
}

// fakeSchedd sends files as a schedd's file transfer does, on 127.0.0.1;
// it stops when the files are sent or the client hangs up.
func fakeSchedd(t *testing.T, files []fakeFile) *cedar.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = fakeSendSandbox(cedar.NewConn(nc), files)
	}()
	nc, err := net.DialTimeout("tcp", ln.Addr().String(), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn := cedar.NewConn(nc)
	conn.SetIdleTimeout(30 * time.Second)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func fakeSendSandbox(s *cedar.Conn, files []fakeFile) error {
	s.PutInt(1)
	s.PutAd(&classad.Ad{})
	if err := s.EndMessage(); err != nil {
		return err
	}
	for i, f := range files {
		if err := fakeSendEntry(s, f, i == 0); err != nil {
			return err
		}
	}
	s.PutInt(xferFinished)
	_ = s.EndMessage()
	s.PutAd(&classad.Ad{})
	_ = s.EndMessage()
	_ = s.Flush()
	_, err := s.GetAd() // the client's acknowledgement
	return err
}

func fakeSendEntry(s *cedar.Conn, f fakeFile, first bool) error {
	cmd := int64(xferFile)
	if f.mkdir {
		cmd = xferMkdir
	}
	s.PutInt(cmd)
	_ = s.EndMessage()
	s.PutString(f.name)
	_ = s.EndMessage()
	if first {
		if err := fakeGoAhead(s); err != nil {
			return err
		}
	}
	s.PutInt(f.mode)
	_ = s.EndMessage()
	if f.mkdir {
		return nil
	}
	s.PutInt(int64(len(f.body)))
	s.PutInt(fileBufSize)
	_ = s.EndMessage()
	if f.body == "" {
		s.PutInt(putFileEOM)
	} else {
		s.PutBytes([]byte(f.body + f.extra))
	}
	return s.EndMessage()
}

func fakeGoAhead(s *cedar.Conn) error {
	s.PutInt(aliveInterval)
	_ = s.EndMessage()
	_ = s.Flush()
	if _, err := s.GetAd(); err != nil {
		return err
	}
	_ = s.FinishMessage()
	if _, err := s.GetInt(); err != nil {
		return err
	}
	_ = s.FinishMessage()
	ok := &classad.Ad{}
	ok.SetInt("Result", 1)
	s.PutAd(ok)
	return s.EndMessage()
}

// TestGetFileModes: a schedd-chosen mode is at most 0755: no setuid,
// setgid, sticky bit, nor group or world write.
func TestGetFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1.0")
	err := receiveSandbox(t, dir, []fakeFile{
		{name: "tool", body: "x", mode: 0o7777},
		{name: "plain", body: "y", mode: 0o640},
		{name: "sub", mkdir: true, mode: 0o777},
		{name: "sub/f", body: "z", mode: 0o666},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"tool": 0o755, "plain": 0o640, "sub/f": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v %v, want %v", name, fi.Mode(), err, want)
		}
	}
}

// TestGetFileFollowsNoLink: in the folder of an interrupted get, a link
// where the schedd's file goes is neither written through nor chmodded,
// and a linked subfolder is not entered.
func TestGetFileFollowsNoLink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1.0")
	if err := receiveSandbox(t, dir, []fakeFile{{name: "other", body: "1", extra: "!", mode: 0o644}}); err == nil {
		t.Fatal("the interrupted get succeeded")
	}
	victims := t.TempDir()
	victim := filepath.Join(victims, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, victim, filepath.Join(dir, "out"))
	mustSymlink(t, victims, filepath.Join(dir, "sub"))
	for _, f := range []fakeFile{{name: "out", body: "EVIL", mode: 0o6777}, {name: "sub/x", body: "EVIL", mode: 0o777}} {
		if err := receiveSandbox(t, dir, []fakeFile{f}); err == nil || !strings.Contains(err.Error(), "link") {
			t.Errorf("%s through a link: %v, want it refused", f.name, err)
		}
	}
	b, _ := os.ReadFile(victim)
	fi, err := os.Stat(victim)
	if err != nil || string(b) != "precious" || fi.Mode() != 0o600 {
		t.Errorf("the victim was changed: %q, mode %v", b, fi.Mode())
	}
	if _, err := os.Lstat(filepath.Join(victims, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("written through a linked folder: %v", err)
	}
}

// TestGetFileRefusesControlCharacters: names with ESC, a newline or DEL
// are refused like "..", before anything is written.
func TestGetFileRefusesControlCharacters(t *testing.T) {
	for _, name := range []string{"a\x1b[2Jb", "n\nl", "del\x7f", "../up"} {
		dir := filepath.Join(t.TempDir(), "1.0")
		err := receiveSandbox(t, dir, []fakeFile{{name: name, body: "x", mode: 0o644}})
		if err == nil || !strings.Contains(err.Error(), "unsafe") {
			t.Errorf("name %q: %v, want it refused", name, err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".cesub") {
				t.Errorf("name %q: %q written", name, e.Name())
			}
		}
	}
}

// TestGetFileSizeBound: a chunk longer than the size the schedd announced
// fails the file, and what was written of it is removed.
func TestGetFileSizeBound(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1.0")
	err := receiveSandbox(t, dir, []fakeFile{{name: "big", body: "0123456789", extra: strings.Repeat("x", 100_000), mode: 0o644}})
	if err == nil {
		t.Fatal("a chunk past the announced size was taken")
	}
	for _, name := range []string{"big", "big.cesub-part"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", name, err)
		}
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	_ = os.RemoveAll(link)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
