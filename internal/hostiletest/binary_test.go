package hostiletest

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/faultproxy"
)

// buildCesub builds cmd/cesub into a temporary folder.
func buildCesub(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cesub")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/cesub/cesub/cmd/cesub")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// fakeTLS is a test-time CA and the folder (for --ca-dir) that trusts it.
type fakeTLS struct {
	ca    *faultproxy.CA
	caDir string
}

func newFakeTLS(t *testing.T) fakeTLS {
	t.Helper()
	ca, err := faultproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fake-ca.pem"), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return fakeTLS{ca: ca, caDir: dir}
}

// serve starts h over TLS on 127.0.0.1 only, closed when the test ends.
func (f fakeTLS) serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	cert, err := f.ca.ServerCert([]string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.WriteTimeout = 3 * time.Minute
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// ran is one run of the binary.
type ran struct {
	code     int
	out, err string
	peakKiB  int64 // the child's peak RSS (Linux: KiB)
}

// runCesub runs the binary with only the environment given (and a fresh
// HOME and XDG_CONFIG_HOME), at most 5 minutes.
func runCesub(t *testing.T, bin string, env map[string]string, args ...string) ran {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, "cfg"), "PATH=/usr/bin:/bin", "LANG=C"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb capped
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("cesub %v did not run: %v", args, err)
	}
	r := ran{code: cmd.ProcessState.ExitCode(), out: out.b.String(), err: errb.b.String()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.peakKiB = ru.Maxrss
	}
	return r
}

// capped keeps the first 256 KiB written to it. A hostile answer can make
// cesub print megabytes; held here, they would grow this process, and Go
// starts a child with vfork, so Linux counts this process's memory at the
// exec into the next child's peak RSS.
type capped struct{ b bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := 256<<10 - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
