package hostiletest

// One hostile answer must not cost gigabytes (issue 21 item 2): every
// answer cesub decodes from an A-REX (REST, EMI-ES) or an issuer is read
// as a stream under a budget (package budget), so the whole process stays
// below 150 MB peak RSS while a fake server sends 60 MB of the shape that
// costs most to decode, and the error names the server and the limit.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/testissuer"
)

// hostileSize is what each hostile answer sends (or tries to: cesub hangs
// up once it refuses).
const hostileSize = 60 << 20

// maxPeakBytes is what the whole cesub process may cost.
const maxPeakBytes = 150_000_000

// bomb is a hostile answer: prefix, chunk repeated up to hostileSize, suffix
// (no chunk: an ordinary answer).
type bomb struct {
	status                int
	contentType           string
	prefix, chunk, suffix string
}

// send streams the answer without holding it: one chunk of 64 KiB.
func (b bomb) send(w http.ResponseWriter) {
	w.Header().Set("Content-Type", b.contentType)
	w.WriteHeader(b.status)
	if _, err := io.WriteString(w, b.prefix); err != nil {
		return
	}
	chunk := []byte(strings.Repeat(b.chunk, (64<<10)/max(1, len(b.chunk))))
	for sent := 0; len(chunk) > 0 && sent < hostileSize; sent += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return // cesub hung up
		}
	}
	_, _ = io.WriteString(w, b.suffix)
}

const soapNS = `xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"`

// soapBomb is a SOAP answer of op whose response element holds empty elements.
func soapBomb(op string) bomb {
	return bomb{http.StatusOK, "text/xml", `<soap-env:Envelope ` + soapNS + `><soap-env:Body><` + op + `Response>`, `<a/>`,
		`</` + op + `Response></soap-env:Body></soap-env:Envelope>`}
}

var (
	jobsBomb     = bomb{http.StatusCreated, "application/json", `{"job":[`, `{},`, `{}]}`}
	versionsBomb = bomb{http.StatusOK, "application/json", `{"version":[`, `"1.0",`, `"1.0"]}`}
	glue2Bomb    = bomb{http.StatusOK, "application/xml", `<InfoRoot><Domains><AdminDomain><Services><ComputingService>`, `<a/>`,
		`</ComputingService></Services></AdminDomain></Domains></InfoRoot>`}
	listingBomb = bomb{http.StatusOK, "application/xml", `<ActivityInfo>`, `<dir/>`, `</ActivityInfo>`}
	htmlBomb    = bomb{http.StatusOK, "text/html", "<HTML><BODY><UL>\n", `<LI><I>dir</I> <A HREF="x">x</A>` + "\n", "</UL></BODY></HTML>"}
)

// hostileAREX is a fake A-REX (REST under /arex/rest, EMI-ES SOAP and
// session listings under /arex) whose answers are ordinary but for those
// bombs picks, with job1 FINISHED.
func hostileAREX(bombs func(r *http.Request, soapOp string) (bomb, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := ""
		if r.Method == http.MethodPost && r.URL.Path == "/arex" {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			for _, o := range []string{"GetActivityStatus", "GetResourceInfo", "ListActivities", "GetActivityInfo"} {
				if strings.Contains(string(body), o) {
					op = o
					break
				}
			}
		}
		if b, ok := bombs(r, op); ok {
			b.send(w)
			return
		}
		switch {
		case r.URL.Path == "/arex/rest":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"version":["1.0"]}`)
		case r.URL.Path == "/arex/rest/1.0/jobs":
			w.Header().Set("Content-Type", "application/json")
			if r.Method == http.MethodPost {
				w.WriteHeader(http.StatusCreated)
			}
			_, _ = io.WriteString(w, `{"job":{"status-code":"200","reason":"OK","id":"job1","state":"FINISHED"}}`)
		case op == "GetActivityStatus":
			w.Header().Set("Content-Type", "text/xml")
			_, _ = io.WriteString(w, `<soap-env:Envelope `+soapNS+`><soap-env:Body><GetActivityStatusResponse><ActivityStatusItem><ActivityID>job1</ActivityID>`+
				`<ActivityStatus><Status>terminal</Status></ActivityStatus></ActivityStatusItem></GetActivityStatusResponse></soap-env:Body></soap-env:Envelope>`)
		case op != "":
			w.Header().Set("Content-Type", "text/xml")
			_, _ = io.WriteString(w, `<soap-env:Envelope `+soapNS+`><soap-env:Body><`+op+`Response/></soap-env:Body></soap-env:Envelope>`)
		default:
			http.NotFound(w, r)
		}
	})
}

// hostileIssuer serves a discovery document of 60 MB of empty objects.
func hostileIssuer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		bomb{http.StatusOK, "application/json", `{"issuer":"https://` + r.Host + `","token_endpoint":"https://` + r.Host + `/token","x":[`, `{},`, `{}]}`}.send(w)
	})
}

// memoryRow is one hostile answer and the command that meets it.
type memoryRow struct {
	name    string // as in docs/security.md's table
	flavour string // "arc" or "emies": how the CE is named, and the job on the list
	bombs   func(r *http.Request, soapOp string) (bomb, bool)
	args    []string // the command; -C, the job id and -j are added
	job     bool     // the command takes job1 from a job list
	issuer  bool     // tokens come from a hostile issuer (client credentials)
	quiet   bool     // the command may succeed (what it refused is optional to it)
}

func TestHostileAnswersCostLittleMemory(t *testing.T) {
	bin := buildCesub(t)
	tlsf := newFakeTLS(t)
	isREST := func(path, action string, b bomb) func(*http.Request, string) (bomb, bool) {
		return func(r *http.Request, _ string) (bomb, bool) {
			return b, r.URL.Path == path && r.URL.Query().Get("action") == action
		}
	}
	isSOAP := func(op string) func(*http.Request, string) (bomb, bool) {
		return func(_ *http.Request, o string) (bomb, bool) { return soapBomb(op), o == op }
	}
	never := func(*http.Request, string) (bomb, bool) { return bomb{}, false }
	rows := []memoryRow{
		{name: `REST status: 60 MB {"job":[{},{},…]}`, flavour: "arc", bombs: isREST("/arex/rest/1.0/jobs", "status", jobsBomb), args: []string{"status"}, job: true},
		{name: "EMI-ES info: 60 MB SOAP body of empty elements", flavour: "emies", bombs: isSOAP("GetResourceInfo"), args: []string{"info"}},
		{name: "EMI-ES ping: 60 MB SOAP body of empty elements", flavour: "emies", bombs: isSOAP("ListActivities"), args: []string{"ping"}},
		{name: "REST get: 60 MB session listing of <dir/>", flavour: "arc", bombs: func(r *http.Request, _ string) (bomb, bool) {
			return listingBomb, strings.HasSuffix(r.URL.Path, "/session/")
		}, args: []string{"get"}, job: true},
		{name: "EMI-ES get: 60 MB HTML session listing", flavour: "emies", bombs: func(r *http.Request, _ string) (bomb, bool) {
			return htmlBomb, r.Method == http.MethodGet && r.URL.Path == "/arex/job1/"
		}, args: []string{"get"}, job: true},
		{name: "EMI-ES status: 60 MB SOAP body of empty elements", flavour: "emies", bombs: isSOAP("GetActivityStatus"), args: []string{"status"}, job: true},
		{name: "REST info: 60 MB GLUE2 document of empty elements", flavour: "arc", bombs: isREST("/arex/rest/1.0/info", "", glue2Bomb), args: []string{"info"}},
		{name: `REST ping: 60 MB {"version":["1.0",…]}`, flavour: "arc", bombs: isREST("/arex/rest", "", versionsBomb), args: []string{"ping"}},
		{name: `REST sync: 60 MB job listing {"job":[{},{},…]}`, flavour: "arc", bombs: func(r *http.Request, _ string) (bomb, bool) {
			listing := jobsBomb
			listing.status = http.StatusOK
			return listing, r.Method == http.MethodGet && r.URL.Path == "/arex/rest/1.0/jobs"
		}, args: []string{"sync"}},
		{name: "REST status of a FAILED job: 60 MB diagnose/failed", flavour: "arc", bombs: func(r *http.Request, _ string) (bomb, bool) {
			if r.URL.Query().Get("action") == "status" {
				return bomb{http.StatusCreated, "application/json", `{"job":{"status-code":"200","reason":"OK","id":"job1","state":"FAILED"}}`, "", ""}, true
			}
			return bomb{http.StatusOK, "text/plain", "", "x", ""}, strings.HasSuffix(r.URL.Path, "/diagnose/failed")
		}, args: []string{"status"}, job: true, quiet: true},
		{name: "issuer discovery: 60 MB of empty objects", flavour: "arc", bombs: never, args: []string{"ping"}, issuer: true},
	}
	var table []string
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			r, srvURL := runRow(t, bin, tlsf, row)
			mb := float64(r.peakKiB) * 1024 / 1e6
			t.Logf("| %s | `cesub %s` | %.0f MB |", row.name, strings.Join(row.args, " "), mb)
			table = append(table, fmt.Sprintf("| %s | `cesub %s` | %.0f MB |", row.name, strings.Join(row.args, " "), mb))
			t.Logf("exit %d: %.300s", r.code, strings.TrimSpace(r.out+r.err))
			// Go starts a child with vfork: Linux can count this process's
			// memory at the exec into the child's peak, so this test's own
			// is shown too (it stays small: output is capped, answers are
			// streamed)
			var self syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
				t.Logf("this test process's own peak RSS so far: %.0f MB", float64(self.Maxrss)*1024/1e6)
			}
			if r.peakKiB*1024 > maxPeakBytes {
				t.Errorf("peak RSS %.0f MB, more than %d MB", mb, maxPeakBytes/1_000_000)
			}
			if !row.quiet && (r.code == 0 || !strings.Contains(r.out+r.err, srvURL) || !strings.Contains(r.out+r.err, "(limit): refused")) {
				t.Errorf("want an error naming %s and the limit; exit %d\nout: %.2000s\nerr: %.2000s", srvURL, r.code, r.out, r.err)
			}
		})
	}
	t.Logf("peak RSS per hostile answer:\n%s", strings.Join(table, "\n"))
}

// runRow starts the row's hostile servers and runs its command.
func runRow(t *testing.T, bin string, tlsf fakeTLS, row memoryRow) (ran, string) {
	srv := tlsf.serve(t, hostileAREX(row.bombs))
	hostPort := strings.TrimPrefix(srv.URL, "https://")
	ceArg := "https://" + hostPort + "/arex"
	if row.flavour == "emies" {
		ceArg = "emies://" + hostPort + "/arex"
	}
	named := "https://" + hostPort // what an error names
	env := map[string]string{}
	if row.issuer {
		iss := tlsf.serve(t, hostileIssuer())
		named = iss.URL
		env["CESUB_CLIENT_SECRET"] = "hostile-test-secret"
		row.args = append(row.args, "--client-credentials", "--issuer", iss.URL, "--client-id", "cesub-test")
	} else {
		key, err := testissuer.GenerateKey("ec")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := key.Mint(testissuer.Claims{Issuer: "https://iss.example", Subject: "user1", Audience: []string{"https://" + hostPort},
			Scope: "compute.create compute.read compute.modify compute.cancel", Lifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		env["BEARER_TOKEN"] = tok
	}
	work := t.TempDir()
	list := filepath.Join(work, "jobs.db")
	args := append([]string{}, row.args...)
	args = append(args, "--ca-dir", tlsf.caDir, "--timeout", "2m")
	switch {
	case row.job:
		addJob(t, list, row.flavour, "https://"+hostPort+"/arex")
		id := "https://" + hostPort + "/arex/rest/1.0/jobs/job1"
		if row.flavour == "emies" {
			id = "https://" + hostPort + "/arex/job1"
		}
		args = append(args, "-j", list, id)
		if row.args[0] == "get" {
			args = append(args, "-D", filepath.Join(work, "dl"))
		}
	case row.args[0] == "sync":
		args = append(args, "-j", list, "-C", ceArg)
	default:
		args = append(args, "-C", ceArg)
	}
	return runCesub(t, bin, env, args...), named
}

// addJob puts job1 of ce on the job list.
func addJob(t *testing.T, list, flavour, ceURL string) {
	t.Helper()
	st, err := jobstore.Open(context.Background(), list)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := ceURL + "/rest/1.0/jobs/job1"
	if flavour == "emies" {
		id = ceURL + "/job1"
	}
	if _, err := st.Add(context.Background(), jobstore.Job{ID: id, LocalID: "job1", CE: ceURL, Flavour: flavour, Submitted: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(list, 0o600)
}
