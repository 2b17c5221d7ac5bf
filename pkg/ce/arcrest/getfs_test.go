package arcrest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
)

// hostileCE is a fake A-REX serving the session of job j1.
type hostileCE struct {
	*Client
	fetched atomic.Int32 // file downloads asked for
	down    atomic.Bool  // answer 500 for files (an interrupted get)
}

// hostileSession is a hostileCE: listing answers a directory's listing
// (path after session/, "" for the top), body a file's content.
func hostileSession(t *testing.T, listing func(dir string) string, body func(w http.ResponseWriter, r *http.Request, name string)) *hostileCE {
	t.Helper()
	h := &hostileCE{}
	h.Client, _ = fakeAREX(t, `{"version":["1.0"]}`, func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/arex/rest/1.0/jobs/j1/session/")
		switch {
		case !ok:
			http.NotFound(w, r)
		case rest == "" || strings.HasSuffix(rest, "/"):
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, "<ActivityInfo>"+listing(strings.TrimSuffix(rest, "/"))+"</ActivityInfo>")
		case h.down.Load():
			http.Error(w, "down", http.StatusInternalServerError)
		default:
			h.fetched.Add(1)
			body(w, r, rest)
		}
	})
	return h
}

// evilFiles lists out (5 bytes) and sub/x (5 bytes), each served as "EVIL!".
func evilFiles(t *testing.T) *hostileCE {
	return hostileSession(t, func(dir string) string {
		if dir == "sub" {
			return `<file size="5">x</file>`
		}
		return `<file size="5">out</file><dir>sub</dir>`
	}, func(w http.ResponseWriter, r *http.Request, _ string) {
		_, _ = io.WriteString(w, "EVIL!")
	})
}

func writeFile(t *testing.T, p, s string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// unchanged fails unless p still has content s and mode.
func unchanged(t *testing.T, p, s string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(p)
	fi, serr := os.Stat(p)
	if err != nil || serr != nil || string(b) != s || fi.Mode().Perm() != mode {
		t.Errorf("%s was changed: %q %v (mode %v, want %q %v)", p, b, err, fi.Mode().Perm(), s, mode)
	}
}

// TestGetRefusesFolderItDidNotMake: a CE names its job `bin`; `get -D ~`
// must not write into an existing ~/bin (nor a link to a folder), and says
// which path it refused.
func TestGetRefusesFolderItDidNotMake(t *testing.T) {
	home := t.TempDir()
	tool := filepath.Join(home, "bin", "out")
	if err := os.Mkdir(filepath.Join(home, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, tool, "#!/bin/sh\necho mine\n", 0o755)
	other := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, filepath.Join(home, "linked")); err != nil {
		t.Fatal(err)
	}
	c := evilFiles(t)
	for _, name := range []string{"bin", "linked"} {
		dir := filepath.Join(home, name)
		_, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("get into an existing %s: %v, want an error naming it", name, err)
		}
	}
	unchanged(t, tool, "#!/bin/sh\necho mine\n", 0o755)
	if entries, _ := os.ReadDir(other); len(entries) != 0 || c.fetched.Load() != 0 {
		t.Errorf("written through a link to a folder: %v, %d files fetched", entries, c.fetched.Load())
	}
}

// interrupted leaves dir as a get of j1 from c that failed (the CE
// answered 500 for its files), marked as cesub's own.
func interrupted(t *testing.T, c *hostileCE, dir string) {
	t.Helper()
	c.down.Store(true)
	defer c.down.Store(false)
	if _, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir}); err == nil {
		t.Fatal("the interrupted get succeeded")
	}
}

// TestGetFollowsNoLink: links planted in the folder of an interrupted get
// (to a file, to a folder) are not written through.
func TestGetFollowsNoLink(t *testing.T) {
	c := evilFiles(t)
	dir := filepath.Join(t.TempDir(), "j1")
	interrupted(t, c, dir)
	victims := t.TempDir()
	victim := filepath.Join(victims, "victim")
	writeFile(t, victim, "precious", 0o600)
	if err := os.Symlink(victim, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(filepath.Join(dir, "sub")) // the interrupted get made it
	if err := os.Symlink(victims, filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "link") {
		t.Errorf("get with links in the way: %v, want them refused", err)
	}
	unchanged(t, victim, "precious", 0o600)
	if _, err := os.Lstat(filepath.Join(victims, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("written through a linked folder: %v", err)
	}
}

// TestGetWritesNoFileItDidNotMake: files of the same names as the CE's
// (hard links to files elsewhere, one shorter, one longer than the CE's)
// are neither appended to nor truncated; the CE is asked for whole files.
func TestGetWritesNoFileItDidNotMake(t *testing.T) {
	var ranged atomic.Int32
	c := hostileSession(t, func(string) string { return `<file size="5">a</file><file size="5">b</file>` }, func(w http.ResponseWriter, r *http.Request, _ string) {
		if r.Header.Get("Range") != "" {
			ranged.Add(1)
		}
		_, _ = io.WriteString(w, "EVIL!")
	})
	dir := filepath.Join(t.TempDir(), "j1")
	interrupted(t, c, dir)
	victims := t.TempDir()
	short, long := filepath.Join(victims, "short"), filepath.Join(victims, "long")
	writeFile(t, short, "ab", 0o644)
	writeFile(t, long, "longer than five", 0o644)
	for name, v := range map[string]string{"a": short, "b": long} {
		if err := os.Link(v, filepath.Join(dir, name)); err != nil {
			t.Skipf("no hard links here: %v", err)
		}
	}
	if _, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	unchanged(t, short, "ab", 0o644)
	unchanged(t, long, "longer than five", 0o644)
	if ranged.Load() != 0 {
		t.Errorf("%d Range requests: a file cesub did not leave was resumed", ranged.Load())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "EVIL!" {
		t.Errorf("the download itself: %q", b)
	}
}

// zeros is an endless stream of zero bytes that counts what was read.
type zeros struct{ n *atomic.Int64 }

func (z zeros) Read(p []byte) (int, error) {
	clear(p)
	z.n.Add(int64(len(p)))
	return len(p), nil
}

// TestGetStopsAtAnnouncedSize: a file the listing says is 10 bytes, sent
// as 1 GiB, is stopped soon after its 10th byte, removed, and the error
// names it and the size.
func TestGetStopsAtAnnouncedSize(t *testing.T) {
	var sent atomic.Int64
	c := hostileSession(t, func(string) string { return `<file size="10">out.dat</file>` }, func(w http.ResponseWriter, r *http.Request, _ string) {
		_, _ = io.Copy(w, io.LimitReader(zeros{&sent}, 1<<30))
	})
	dir := filepath.Join(t.TempDir(), "j1")
	_, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "out.dat") || !strings.Contains(err.Error(), "10 bytes") {
		t.Fatalf("1 GiB for a 10-byte file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "out.dat") {
			t.Errorf("%s left behind", e.Name())
		}
	}
	// the fake's writes end when cesub hangs up: what it got out is bounded
	// by the socket buffers, far below the 1 GiB offered
	if got := sent.Load(); got >= 256<<20 {
		t.Errorf("the CE sent %d bytes before cesub hung up", got)
	}
	t.Logf("the hostile CE got %d bytes out before cesub hung up; error: %v", sent.Load(), err)
}

// TestGetRefusesControlCharacters: names with a newline, a tab or DEL are
// refused like "..", and nothing is written.
func TestGetRefusesControlCharacters(t *testing.T) {
	for _, name := range []string{"a&#10;b", "tab&#9;x", "del\x7f"} {
		c := hostileSession(t, func(string) string { return fmt.Sprintf(`<file size="1">%s</file>`, name) }, func(w http.ResponseWriter, r *http.Request, _ string) {
			_, _ = io.WriteString(w, "x")
		})
		dir := filepath.Join(t.TempDir(), "j1")
		_, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "unsafe") || c.fetched.Load() != 0 {
			t.Errorf("name %q: %v, %d fetched", name, err, c.fetched.Load())
		}
	}
}

// TestGetRefusesWrongPart: asked to continue from byte 4, a CE that
// answers 206 with the file from byte 0 is refused, not appended.
func TestGetRefusesWrongPart(t *testing.T) {
	c := hostileSession(t, func(string) string { return `<file size="8">out</file>` }, func(w http.ResponseWriter, r *http.Request, _ string) {
		if r.Header.Get("Range") == "" {
			w.Header().Set("Content-Length", "8")
			_, _ = io.WriteString(w, "abcd")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Content-Range", "bytes 0-7/8")
		w.WriteHeader(http.StatusPartialContent)
		_, _ = io.WriteString(w, "abcdefgh")
	})
	dir := filepath.Join(t.TempDir(), "j1")
	for i := 0; i < 2; i++ {
		if _, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: dir}); err == nil {
			t.Fatalf("get %d succeeded", i+1)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out.cesub-part")); string(b) != "abcd" {
		t.Errorf("partial file now %q, want abcd", b)
	}
}
