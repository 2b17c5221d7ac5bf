package emies

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
)

// hostileSessionCE is a fake A-REX on 127.0.0.1 whose EMI-ES session
// directories all list listing and serve every file as 1 MiB.
func hostileSessionCE(t *testing.T, listing string) *Client {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			_, _ = io.WriteString(w, "<HTML><BODY><UL>\r\n"+listing+"</UL></BODY></HTML>")
			return
		}
		_, _ = io.WriteString(w, strings.Repeat("x", 1<<20))
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	c, err := NewClient(ce.Config{Address: ce.Address{Flavour: ce.EMIES, Host: host, Port: p, Path: "/arex"},
		HTTPClient: srv.Client(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listed(name string, size int) string {
	return "<LI><I>file</I> <A HREF=\"x\">" + name + "</A> - " + strconv.Itoa(size) + " bytes\r\n"
}

// TestGetHostileSession: EMI-ES downloads go through the same writer as
// REST ones: an existing folder named by the job id is refused, an ESC in
// a name is refused, a file past its listed size is removed.
func TestGetHostileSession(t *testing.T) {
	home := t.TempDir()
	tool := filepath.Join(home, "bin", "tool")
	if err := os.MkdirAll(filepath.Dir(tool), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tool, []byte("mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := hostileSessionCE(t, listed("tool", 1<<20))
	if _, err := c.Get(context.Background(), "bin", ce.GetOptions{Dir: filepath.Join(home, "bin")}); err == nil {
		t.Error("get of job bin wrote into an existing ~/bin")
	}
	if b, _ := os.ReadFile(tool); string(b) != "mine" {
		t.Errorf("~/bin/tool is now %d bytes", len(b))
	}

	c = hostileSessionCE(t, listed("a&#27;[2Jb", 1))
	if _, err := c.Get(context.Background(), "j1", ce.GetOptions{Dir: filepath.Join(home, "j1")}); err == nil || !strings.Contains(err.Error(), "unsafe") {
		t.Errorf("a name with ESC: %v", err)
	}

	c = hostileSessionCE(t, listed("out", 10))
	dir := filepath.Join(home, "j2")
	_, err := c.Get(context.Background(), "j2", ce.GetOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "10 bytes") {
		t.Errorf("1 MiB for a 10-byte file: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != ".cesub-get" {
		t.Errorf("left: %v, want only the marker of the interrupted get", entries)
	}
}
