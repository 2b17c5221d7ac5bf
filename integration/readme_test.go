package integration

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/docsnippets"
	"github.com/cesub/cesub/internal/testbed"
)

// quickStartScripts makes one script per way of getting a token (named as
// in the README, in its order) from the
// README's `<!-- readme-test: quickstart … -->` blocks, in their order: the
// blocks marked `quickstart` belong to every script, those marked
// `quickstart token=NAME` only to NAME's.
func quickStartScripts(t *testing.T, readme string) (names, scripts []string) {
	t.Helper()
	var common, alts []string
	type part struct{ alt, text string }
	var parts []part
	for _, b := range docsnippets.Blocks(readme) {
		kind, alt, _ := strings.Cut(b.Marker, " ")
		if kind != "quickstart" {
			continue
		}
		if b.Lang != "sh" {
			t.Fatalf("README.md:%d: a quickstart block must be ```sh, not %q", b.Line, b.Lang)
		}
		name := strings.TrimPrefix(alt, "token=")
		if alt != "" && !slices.Contains(alts, name) {
			alts = append(alts, name)
		}
		if alt == "" {
			common = append(common, b.Text)
		}
		parts = append(parts, part{name, b.Text})
	}
	if len(common) == 0 || len(alts) == 0 {
		t.Fatalf("README.md has %d common quickstart blocks and %d token alternatives; want both", len(common), len(alts))
	}
	for _, a := range alts {
		var s strings.Builder
		for _, p := range parts {
			if p.alt == "" || p.alt == a {
				s.WriteString(p.text)
			}
		}
		scripts = append(scripts, s.String())
	}
	return alts, scripts
}

// TestReadmeQuickStart runs the README's quick start as a new user would
// type it, once per way of getting a token (oidc-agent, client credentials),
// against the testbed's A-REX 6.17 and issuer: the built cesub on PATH, an
// empty HOME, the site variables the README tells the user to set, bash
// -euo pipefail. The token must be stored where discovery finds it, the job
// must reach FINISHED, and its output must be downloaded.
func TestReadmeQuickStart(t *testing.T) {
	t.Parallel() // beside the other long tests: go test -parallel (scripts/test.sh)
	tb := testbed.Require(t)
	bin := cesubBinary(t)
	readme, err := os.ReadFile(filepath.Join(tb.Root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ce := tb.Get(t, "CESUB_TESTBED_AREX_URL")
	u, err := url.Parse(ce)
	if err != nil {
		t.Fatal(err)
	}
	alts, scripts := quickStartScripts(t, string(readme))
	for i, alt := range alts {
		script := scripts[i]
		t.Run(alt, func(t *testing.T) {
			home := t.TempDir()
			env := []string{"PATH=" + filepath.Dir(bin) + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + home,
				"XDG_RUNTIME_DIR=" + filepath.Join(home, "run"), "LANG=C.UTF-8",
				"CE=" + ce, "AUD=" + u.Scheme + "://" + u.Host, "OIDC_SOCK=" + tb.Get(t, "OIDC_SOCK"),
				"OIDC_ACCOUNT=" + tb.Get(t, "CESUB_TESTBED_OIDC_ACCOUNT"), "ISSUER=" + tb.Get(t, "CESUB_TESTBED_ISSUER"),
				"CLIENT_ID=" + tb.Get(t, "CESUB_TESTBED_CLIENT_ID"), "SECRET_FILE=" + tb.Get(t, "CESUB_TESTBED_CLIENT_SECRET_FILE")}
			if err := os.Mkdir(filepath.Join(home, "run"), 0o700); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { // a quick start that broke off leaves no job on the shared A-REX
				c := exec.Command(bin, "clean", "-a")
				c.Env = env
				_ = c.Run()
			})
			runQuickStart(t, script, home, env, u.Host)
		})
	}
}

// runQuickStart runs script in home and checks what it left behind.
func runQuickStart(t *testing.T, script, home string, env []string, ceHost string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	c.Dir, c.Env = home, env
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	start := time.Now()
	err := c.Run()
	t.Logf("quick start ran %s:\n%s\nstderr:\n%s", time.Since(start).Round(time.Second), out.String(), errb.String())
	if err != nil {
		t.Fatalf("quick start failed: %v\nscript:\n%s", err, script)
	}
	if fi, err := os.Stat(filepath.Join(home, "run", "bt_u"+strconv.Itoa(os.Geteuid()))); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token not stored for discovery in $XDG_RUNTIME_DIR/bt_u<uid> with mode 0600: %v", err)
	}
	ids := regexp.MustCompile(`https://`+regexp.QuoteMeta(ceHost)+`/arex/rest/1\.[01]/jobs/([A-Za-z0-9]+)`).FindAllStringSubmatch(out.String(), -1)
	if len(ids) == 0 {
		t.Fatalf("no job id of %s in the output", ceHost)
	}
	local := ids[0][1]
	if !regexp.MustCompile(`(?m)` + regexp.QuoteMeta(local) + `.*(-> FINISHED|\bFINISHED\b)`).MatchString(out.String()) {
		t.Errorf("job %s never shown FINISHED", local)
	}
	files, _ := filepath.Glob(filepath.Join(home, "*", local, "*"))
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
	}
	if size == 0 {
		t.Errorf("no output of job %s downloaded under %s (found %v)", local, home, files)
	}
}
