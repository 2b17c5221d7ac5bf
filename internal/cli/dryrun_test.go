package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/testissuer"
)

// TestDryRunDelegationPerFlavour: submit --dry-run --delegate x509 shows
// the delegation requests of the CE's own flavour (EMI-ES: the
// InitDelegation and PutDelegation calls, never ARC REST's /rest/
// delegations), credentials always written [REDACTED]. Nothing listens at
// ce.example.org: a dry run needs no network.
func TestDryRunDelegationPerFlavour(t *testing.T) {
	dir := t.TempDir()
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{"https://ce.example.org:443"}, Scope: "compute.create compute.read compute.modify compute.cancel", Lifetime: time.Hour})
	vars := map[string]string{"BEARER_TOKEN": tok, "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	desc := filepath.Join(dir, "j.xrsl")
	if err := os.WriteFile(desc, []byte(`&(executable="/bin/true")`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ce         string
		want, lack []string
	}{
		{"emies://ce.example.org", []string{"InitDelegation", "PutDelegation", "CreateActivity", "POST https://ce.example.org:443/arex\n"}, []string{"/rest/"}},
		{"https://ce.example.org", []string{"POST https://ce.example.org:443/arex/rest/1.0/delegations?action=new", "PUT https://ce.example.org:443/arex/rest/1.0/delegations/<delegation-id>"}, []string{"InitDelegation"}},
	} {
		r := run(t, vars, "submit", "-C", tc.ce, "--delegate", "x509", "--dry-run", "-f", desc)
		if r.code != 0 {
			t.Errorf("%s: exit %d\n%s", tc.ce, r.code, r.err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.out, w) {
				t.Errorf("%s: dry run lacks %q:\n%s", tc.ce, w, r.out)
			}
		}
		for _, w := range append(tc.lack, "<redacted>", tok) {
			if strings.Contains(r.out, w) {
				t.Errorf("%s: dry run shows %q:\n%s", tc.ce, w, r.out)
			}
		}
		if !strings.Contains(r.out, "Authorization: Bearer [REDACTED]") {
			t.Errorf("%s: no redacted bearer header:\n%s", tc.ce, r.out)
		}
		if n := strings.Count(r.out, "version discovery"); n > 1 {
			t.Errorf("%s: version discovery shown %d times", tc.ce, n)
		}
	}
}

// TestSubmitDescriptionFromStdin: `submit -f -` and a lone `submit -` read
// the description from stdin, as `describe -` does, so that a pipeline can
// feed generated descriptions; "-" twice is a usage error (stdin is read
// once).
func TestSubmitDescriptionFromStdin(t *testing.T) {
	dir := t.TempDir()
	tok := mint(t, mintKey(t), testissuer.Claims{Audience: []string{"https://ce.example.org:443"}, Scope: "compute.create compute.read", Lifetime: time.Hour})
	vars := map[string]string{"BEARER_TOKEN": tok, "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	const xrsl = `&(executable="/bin/echo")(arguments="from-stdin-42")(jobname="piped")`
	for _, args := range [][]string{{"-f", "-"}, {"-"}} {
		r := runIn(t, vars, xrsl, append([]string{"submit", "--dry-run", "-C", "https://ce.example.org/arex"}, args...)...)
		if r.code != 0 || !strings.Contains(r.out, "from-stdin-42") {
			t.Errorf("submit %v < xrsl: exit %d, stdout %q, stderr %q; want exit 0 and the job in the request", args, r.code, r.out, r.err)
		}
	}
	r := runIn(t, vars, xrsl, "submit", "--dry-run", "-C", "https://ce.example.org/arex", "-f", "-", "-")
	if r.code != 2 || !strings.Contains(r.err, "stdin") {
		t.Errorf("submit -f - -: exit %d, stderr %q; want 2 naming stdin", r.code, r.err)
	}
}

// TestDryRunWithoutCredentials: `submit -f - --dry-run < job.xrsl` with no
// token anywhere and no proxy runs every other check, shows the requests,
// says on stderr which credential checks it skipped and exits 0, so that
// CI can check descriptions without secrets; the same submission without
// --dry-run still exits 4.
func TestDryRunWithoutCredentials(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"HOME": filepath.Join(dir, "home"), "XDG_RUNTIME_DIR": filepath.Join(dir, "run"),
		"XDG_CONFIG_HOME": filepath.Join(dir, "cfg"), "BEARER_TOKEN": "", "BEARER_TOKEN_FILE": "",
		"X509_USER_PROXY": filepath.Join(dir, "no-proxy"), "CESUB_JOBLIST": filepath.Join(dir, "jobs.db")}
	const xrsl = `&(executable="/bin/echo")(arguments="ci-check-7")`
	for _, c := range []string{"https://ce.example.org/arex", "emies://ce.example.org", "condor://ce.example.org"} {
		r := runIn(t, vars, xrsl, "submit", "-f", "-", "--dry-run", "-C", c)
		if r.code != 0 || !strings.Contains(r.out, "ci-check-7") {
			t.Errorf("%s: dry run without credentials: exit %d, stdout %q, stderr %q; want exit 0 and the job shown", c, r.code, r.out, r.err)
		}
		if !strings.Contains(r.err, "dry run: no token found") || !strings.Contains(r.err, "checks were skipped") {
			t.Errorf("%s: stderr does not say which checks were skipped: %q", c, r.err)
		}
	}
	r := runIn(t, vars, `&(executable="/bin/echo")(arguments=`, "submit", "-f", "-", "--dry-run", "-C", "https://ce.example.org/arex")
	if r.code != 2 {
		t.Errorf("bad description, dry run without credentials: exit %d, want 2 (the description is still checked): %q", r.code, r.err)
	}
	if r := runIn(t, vars, xrsl, "submit", "-f", "-", "-C", "https://ce.example.org/arex"); r.code != 4 {
		t.Errorf("submission without credentials: exit %d, want 4: %q", r.code, r.err)
	}
}
