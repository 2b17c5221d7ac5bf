package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/testbed"
)

// TestProxyInitEncryptedKey: `proxy init` with the testbed user's key
// encrypted by OpenSSL (PKCS#8, AES-256) and --passphrase-file; a wrong
// passphrase exits 4; the proxy is 0600 and `proxy info -o json` describes it;
// `proxy destroy` removes it.
func TestProxyInitEncryptedKey(t *testing.T) {
	tb := testbed.Require(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	_ = os.WriteFile(pw, []byte("correct horse\n"), 0o600)
	enc := filepath.Join(dir, "userkey-enc.pem")
	if out, err := exec.Command("openssl", "pkey", "-in", tb.Get(t, "CESUB_TESTBED_USERKEY"), "-aes256", "-passout", "file:"+pw,
		"-out", enc).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	_ = os.Chmod(enc, 0o400)
	proxy := filepath.Join(dir, "x509up")
	env := map[string]string{"X509_USER_PROXY": proxy}
	bad := filepath.Join(dir, "bad")
	_ = os.WriteFile(bad, []byte("wrong\n"), 0o600)
	r := cesub(t, tb, env, "proxy", "init", "--cert", tb.Get(t, "CESUB_TESTBED_USERCERT"), "--key", enc, "--passphrase-file", bad)
	if r.code != 4 || !strings.Contains(r.err, "passphrase") {
		t.Fatalf("wrong passphrase: exit %d %s", r.code, r.err)
	}
	r = cesub(t, tb, env, "proxy", "init", "--cert", tb.Get(t, "CESUB_TESTBED_USERCERT"), "--key", enc, "--passphrase-file", pw, "--validity", "3h")
	if r.code != 0 {
		t.Fatalf("proxy init: %d %s", r.code, r.err)
	}
	st, err := os.Stat(proxy)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("proxy file: %v %v", err, st)
	}
	r = cesub(t, tb, env, "proxy", "info", "-o", "json")
	var info struct {
		Schema, Type, Identity string
		Valid                  bool
		SecondsLeft            int64 `json:"seconds_left"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &info) != nil || !info.Valid || info.Type != "RFC 3820 proxy" ||
		!strings.HasSuffix(info.Identity, "CN=cesub user") || info.SecondsLeft < 3*3600-120 || info.SecondsLeft > 3*3600 {
		t.Fatalf("proxy info: %d %s %s", r.code, r.out, r.err)
	}
	if r = cesub(t, tb, env, "proxy", "destroy"); r.code != 0 {
		t.Fatalf("destroy: %d %s", r.code, r.err)
	}
	if _, err := os.Stat(proxy); !os.IsNotExist(err) {
		t.Fatalf("proxy still there: %v", err)
	}
	if r = cesub(t, tb, env, "proxy", "info"); r.code != 4 || !strings.Contains(r.err, "cesub proxy init") {
		t.Errorf("info without a proxy: %d %s", r.code, r.err)
	}
}
