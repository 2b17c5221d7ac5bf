package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testissuer"
)

// hostileState is what a hostile CE answers as a job's state: it would set
// the window title, clear the screen and print a red line.
const hostileState = "FAILED\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[1;31mSPOOFED"

// hostileReason is a failure reason with more ways to drive a terminal:
// OSC 52 (clipboard), an 8-bit CSI (raw and as U+009B), a bidi override,
// and a newline that would start a line of its own.
const hostileReason = "LRMS error: \x1b]52;c;ZXZpbA==\x07\x9b31m \u009b2J \u202eevil\ncesub: FAKE LINE"

// hostileTextAREX is a fake A-REX (REST) on 127.0.0.1 whose every text is
// hostile: job evilJob1 has hostileState, failJob2 is FAILED with
// hostileReason, the diagnose files carry escapes; with errBody set, every
// jobs request is answered errCode with errBody instead. echo (if set) gets
// each request's Authorization header, for a body that echoes it.
func hostileTextAREX(t *testing.T, errCode int, errBody func(auth string) string) (*httptest.Server, string) {
	t.Helper()
	entry := func(id, state string) string {
		js, _ := json.Marshal(state)
		return `{"status-code":"200","reason":"OK","id":"` + id + `","state":` + string(js) + `}`
	}
	jobs := `{"job":[` + entry("evilJob1", hostileState) + "," + entry("failJob2", "FAILED") + `]}`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/arex/rest":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"version":["1.0"]}`)
		case errBody != nil:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(errCode)
			_, _ = io.WriteString(w, errBody(r.Header.Get("Authorization")))
		case p == "/arex/rest/1.0/jobs":
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Query().Get("action") != "" {
				w.WriteHeader(http.StatusCreated)
			}
			_, _ = io.WriteString(w, jobs)
		case strings.HasSuffix(p, "/diagnose/failed"):
			_, _ = io.WriteString(w, hostileReason)
		case strings.HasSuffix(p, "/diagnose/status"):
			_, _ = io.WriteString(w, hostileState)
		case strings.HasSuffix(p, "/diagnose/local"):
			_, _ = io.WriteString(w, "queue=\x1b[31mgrid\x1b[0m\nlocalid=b-\x1b]0;T\x07\nsubject=/CN=\u202eevil\n")
		case strings.HasSuffix(p, "/diagnose/diag"):
			_, _ = io.WriteString(w, "nodename=node\x1b[2J1\nwalltime=7s\n")
		default:
			http.NotFound(w, r)
		}
	})
	srv := httptest.NewTLSServer(h) // 127.0.0.1
	t.Cleanup(srv.Close)
	caDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(caDir, "test.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caDir
}

// listJobs writes a job list holding the jobs of the hostile CE at ceURL.
func listJobs(t *testing.T, ceURL string, ids ...string) string {
	t.Helper()
	list := filepath.Join(t.TempDir(), "jobs.db")
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range ids {
		if _, err := st.Add(context.Background(), jobstore.Job{ID: ceURL + "/rest/1.0/jobs/" + id, LocalID: id, CE: ceURL, Flavour: "arc",
			Submitted: time.Now(), State: "RUNNING"}); err != nil {
			t.Fatal(err)
		}
	}
	return list
}

// terminalControls lists the terminal-driving bytes and characters found in s.
func terminalControls(s string) []string {
	var found []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			found = append(found, fmt.Sprintf("byte %#x at %d", c, i))
		}
	}
	for _, r := range s {
		if r >= 0x80 && r <= 0x9f || r == '\ufffd' || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' {
			found = append(found, fmt.Sprintf("%U", r))
		}
	}
	if !bytes.Equal([]byte(s), []byte(strings.ToValidUTF8(s, "\ufffd"))) {
		found = append(found, "bytes that are not UTF-8")
	}
	return found
}

// TestServerTextCannotDriveTheTerminal: a CE's job state, failure reason,
// diagnose fields and HTTP error bodies reach stdout and stderr with every
// control character escaped (status, status -l, --debug, an HTTP error),
// never raw; a reason's newline cannot start a line of its own; -o json
// carries the exact strings, JSON-escaped.
func TestServerTextCannotDriveTheTerminal(t *testing.T) {
	srv, caDir := hostileTextAREX(t, 0, nil)
	k := mintKey(t)
	tok := mint(t, k, testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.read", Lifetime: time.Hour})
	vars := map[string]string{"BEARER_TOKEN": tok}
	ceURL := srv.URL + "/arex"
	list := listJobs(t, ceURL, "evilJob1", "failJob2")
	common := []string{"-j", list, "--ca-dir", caDir}

	for _, args := range [][]string{{"status", "-a"}, {"status", "-a", "-l"}, {"status", "-a", "--debug"}, {"status", "-a", "-l", "-v"}} {
		r := run(t, vars, append(args, common...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, r.code, r.out, r.err)
		}
		for name, s := range map[string]string{"stdout": r.out, "stderr": r.err} {
			if bad := terminalControls(s); len(bad) > 0 {
				t.Errorf("%v: %s has raw terminal controls %v:\n%q", args, name, bad, s)
			}
		}
		if !strings.Contains(r.out, `FAILED\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[1;31mSPOOFED`) {
			t.Errorf("%v: the hostile state is not shown escaped:\n%s", args, r.out)
		}
		if !strings.Contains(r.out, `\x1b]52;c;ZXZpbA==\x07\x9b31m \u009b2J \u202eevil\ncesub: FAKE LINE`) {
			t.Errorf("%v: the hostile reason is not shown escaped on one line:\n%s", args, r.out)
		}
		for _, line := range strings.Split(r.out+r.err, "\n") {
			if strings.HasPrefix(line, "cesub: FAKE") {
				t.Errorf("%v: a CE's newline started a line: %q", args, line)
			}
		}
		if args[len(args)-1] == "-v" && !strings.Contains(r.out, `grid\x1b[0m`) {
			t.Errorf("%v: the queue is not shown escaped:\n%s", args, r.out)
		}
	}

	r := run(t, vars, append([]string{"status", "-a", "-l", "-o", "json"}, common...)...)
	var doc struct {
		Jobs []struct {
			SpecificState string   `json:"specificState"`
			JobError      []string `json:"jobError"`
			Queue         string   `json:"queue"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || len(doc.Jobs) != 2 {
		t.Fatalf("status -o json: %v\n%s\n%s", err, r.out, r.err)
	}
	var state, reason, queue bool
	for _, j := range doc.Jobs {
		state = state || j.SpecificState == hostileState
		// (encoding/json writes a byte that is not UTF-8 as U+FFFD)
		reason = reason || len(j.JobError) > 0 && j.JobError[0] == strings.ToValidUTF8(hostileReason, "\ufffd")
		queue = queue || j.Queue == "\x1b[31mgrid\x1b[0m"
	}
	if !state || !reason || !queue {
		t.Errorf("-o json does not carry the exact strings (state %v, reason %v, queue %v):\n%s", state, reason, queue, r.out)
	}
	if !strings.Contains(r.out, `\u001b]0;PWNED-TITLE\u0007`) {
		t.Errorf("-o json is not encoding/json's escaping:\n%s", r.out)
	}

	// an HTTP error whose body is hostile
	srv, caDir = hostileTextAREX(t, http.StatusInternalServerError, func(string) string {
		return "internal error \x1b]0;PWNED-TITLE\x07\x1b[2J\ncesub: FAKE LINE \u202eevil"
	})
	tok = mint(t, k, testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.read", Lifetime: time.Hour})
	list = listJobs(t, srv.URL+"/arex", "evilJob1")
	for _, args := range [][]string{{"status", "-a"}, {"status", "-a", "--debug"}, {"status", "-a", "-o", "json"}, {"kill", "-a"}} {
		r = run(t, map[string]string{"BEARER_TOKEN": tok}, append(args, "-j", list, "--ca-dir", caDir)...)
		if r.code == 0 || !strings.Contains(r.out+r.err, "internal error") {
			t.Fatalf("%v: exit %d, the error body is not shown\n%s\n%s", args, r.code, r.out, r.err)
		}
		streams := map[string]string{"stdout": r.out, "stderr": r.err}
		if args[len(args)-1] == "json" {
			delete(streams, "stdout") // JSON as encoding/json writes it, checked above
		}
		for name, s := range streams {
			if bad := terminalControls(s); len(bad) > 0 {
				t.Errorf("%v: %s has raw terminal controls %v:\n%q", args, name, bad, s)
			}
		}
		for _, line := range strings.Split(r.out+r.err, "\n") {
			if strings.HasPrefix(line, "cesub: FAKE") {
				t.Errorf("%v: a CE's newline started a line: %q", args, line)
			}
		}
	}
}

// fakeEchoingEMIES is a fake EMI-ES CE on 127.0.0.1 that answers every
// operation with a SOAP fault quoting the request's Authorization header.
func fakeEchoingEMIES(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>`+
			`<soap:Fault><faultcode>soap:Server</faultcode><faultstring>cannot parse request with header Authorization: %s</faultstring></soap:Fault>`+
			`</soap:Body></soap:Envelope>`, r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	caDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(caDir, "test.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caDir
}

// fakeEchoingIssuer is a fake OAuth2 issuer on 127.0.0.1 that refuses
// every token request with an error quoting the form it was sent
// (client_secret included), and the Authorization header.
func fakeEchoingIssuer(t *testing.T) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "token_endpoint": srv.URL + "/token"})
		case "/token":
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request",
				"error_description": "cannot parse " + string(body) + " (Authorization: " + r.Header.Get("Authorization") + ")"})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// noneLeaks fails the test when any secret appears in r's stdout or stderr.
func noneLeaks(t *testing.T, what string, r result, secrets map[string]string) {
	t.Helper()
	for name, s := range secrets {
		for stream, text := range map[string]string{"stdout": r.out, "stderr": r.err} {
			if strings.Contains(text, s) {
				t.Errorf("%s: %s printed on %s:\n%s", what, name, stream, text)
			}
		}
	}
	if !strings.Contains(r.out+r.err, "[REDACTED]") {
		t.Errorf("%s: no [REDACTED] where the server echoed a credential (exit %d):\n%s\n%s", what, r.code, r.out, r.err)
	}
}

// TestEchoedCredentialsAreNotPrinted: a CE or issuer that echoes the
// credentials cesub sent (a 403 body quoting the Authorization header, an
// EMI-ES SOAP fault quoting it, an OAuth error quoting the form with
// client_secret) cannot make cesub print them: neither an opaque token nor
// a JWT or its signature, nor the client secret, in text, -o json or
// --debug output.
func TestEchoedCredentialsAreNotPrinted(t *testing.T) {
	k := mintKey(t)
	echo := func(auth string) string {
		return "access denied for request with Authorization: " + auth + " (token " + strings.TrimPrefix(auth, "Bearer ") + ")"
	}
	for _, code := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusInternalServerError} {
		srv, caDir := hostileTextAREX(t, code, echo)
		jwt := mint(t, k, testissuer.Claims{Audience: []string{srv.URL}, Scope: "compute.read", Lifetime: time.Hour})
		opaque := "opaque-7f3a9c2e51b84d06a9e1c3f5b7d2e4a6"
		list := listJobs(t, srv.URL+"/arex", "evilJob1")
		for _, tok := range []string{jwt, opaque} {
			secrets := map[string]string{"the token": tok, "the start of the token": tok[:16]}
			if parts := strings.Split(tok, "."); len(parts) == 3 {
				secrets["the JWT signature"] = parts[2]
			}
			for _, extra := range [][]string{nil, {"-o", "json"}, {"--debug"}, {"-o", "json", "--debug"}} {
				args := append([]string{"status", "-a", "-j", list, "--ca-dir", caDir}, extra...)
				r := run(t, map[string]string{"BEARER_TOKEN": tok}, args...)
				if r.code == 0 {
					t.Fatalf("%v: exit 0 on a %d\n%s\n%s", args, code, r.out, r.err)
				}
				if code == http.StatusForbidden && !strings.Contains(r.out+r.err, "access denied") {
					continue // a refusal is explained, its body not shown
				}
				noneLeaks(t, fmt.Sprintf("A-REX %d, %v", code, args), r, secrets)
			}
		}
	}
	srv, _ := hostileTextAREX(t, 0, nil)
	list := listJobs(t, srv.URL+"/arex", "evilJob1")

	// EMI-ES: a SOAP fault quoting the header
	es, esCA := fakeEchoingEMIES(t)
	esTok := mint(t, k, testissuer.Claims{Audience: []string{es.URL}, Scope: "compute.read", Lifetime: time.Hour})
	esSecrets := map[string]string{"the token": esTok, "the JWT signature": strings.Split(esTok, ".")[2]}
	ceArg := "emies://" + strings.TrimPrefix(es.URL, "https://") + "/arex"
	for _, extra := range [][]string{nil, {"-o", "json"}, {"--debug"}} {
		args := append([]string{"info", "-C", ceArg, "--ca-dir", esCA}, extra...)
		r := run(t, map[string]string{"BEARER_TOKEN": esTok}, args...)
		if r.code == 0 || !strings.Contains(r.out+r.err, "cannot parse request") {
			t.Fatalf("%v: exit %d, the fault is not shown\n%s\n%s", args, r.code, r.out, r.err)
		}
		noneLeaks(t, fmt.Sprintf("EMI-ES fault, %v", args), r, esSecrets)
	}

	// an issuer quoting the client-credentials form
	iss := fakeEchoingIssuer(t)
	issCA := t.TempDir()
	if err := os.WriteFile(filepath.Join(issCA, "test.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := "s3cr3t-Client-Secret-0a1b2c3d4e5f"
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cc := []string{"--client-credentials", "--issuer", iss.URL, "--client-id", "cesub-test", "--client-secret-file", secretFile, "--ca-dir", issCA}
	for _, cmd := range [][]string{{"token", "get"}, {"status", "-a", "-j", list}} {
		for _, extra := range [][]string{nil, {"-o", "json"}, {"--debug"}} {
			args := append(append(append([]string{}, cmd...), cc...), extra...)
			r := run(t, nil, args...)
			if r.code == 0 || !strings.Contains(r.out+r.err, "invalid_request") {
				t.Fatalf("%v: exit %d, the issuer's error is not shown\n%s\n%s", args, r.code, r.out, r.err)
			}
			noneLeaks(t, fmt.Sprintf("issuer error, %v", args), r, map[string]string{"the client secret": secret,
				"its Basic credentials": base64.StdEncoding.EncodeToString([]byte("cesub-test:" + secret))})
		}
	}
}
