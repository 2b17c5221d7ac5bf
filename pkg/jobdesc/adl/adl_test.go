package adl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/corpus"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/internal/arccheck"
)

func corpusDir(t testing.TB) string { return corpus.Dir(t) }

var rePos = regexp.MustCompile(`:\d+:\d+: `)

func TestCorpusCases(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "adl-cases", "*.expected.json"))
	if len(files) < 20 {
		t.Fatalf("%d ADL cases", len(files))
	}
	checks := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".expected.json")
		t.Run(name, func(t *testing.T) {
			b, _ := os.ReadFile(f)
			var ex struct {
				ParseOK *bool            `json:"parse_ok"`
				Checks  []arccheck.Check `json:"checks"`
			}
			if err := json.Unmarshal(b, &ex); err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(strings.TrimSuffix(f, ".expected.json") + ".xml")
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := Parse(name, src)
			if ex.ParseOK != nil && !*ex.ParseOK {
				if err == nil {
					t.Fatal("accepted, the source says rejected")
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			env := arccheck.New(jobs)
			for _, c := range ex.Checks {
				if msg := env.Run(c); msg != "" {
					t.Error(msg)
				}
				if c.Step == "" {
					checks++
				}
			}
			// writing and reading again gives the same jobs
			out, _, err := Write(jobs...)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(name+"(written)", out)
			if err != nil {
				t.Fatalf("written ADL does not parse: %v\n%s", err, out)
			}
			for i := range jobs {
				jobs[i].Warnings, again[i].Warnings = nil, nil
			}
			if !reflect.DeepEqual(jobs, again) {
				t.Errorf("round trip changed the jobs:\n%+v\n%+v\n%s", jobs, again, out)
			}
		})
	}
	t.Logf("%d ADL cases, %d stated checks", len(files), checks)
}

func TestBadADL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not XML", "<ActivityDescription", "XML syntax"},
		{"wrong root", `<Job xmlns="` + NS + `"/>`, "1:1: root element is <Job>"},
		{"wrong namespace", `<ActivityDescription xmlns="urn:other"/>`, `namespace "urn:other"`},
		{"bad memory", "<ActivityDescription xmlns=\"" + NS + "\">\n<Resources>\n  <IndividualPhysicalMemory>lots</IndividualPhysicalMemory></Resources></ActivityDescription>",
			"3:3: <IndividualPhysicalMemory>: \"lots\" is not a non-negative integer"},
		{"bad boolean", `<ActivityDescription xmlns="` + NS + `"><DataStaging><InputFile><Name>a</Name><IsExecutable>maybe</IsExecutable></InputFile></DataStaging></ActivityDescription>`,
			`"maybe" is not true or false`},
		{"input without name", `<ActivityDescription xmlns="` + NS + `"><DataStaging><InputFile/></DataStaging></ActivityDescription>`, "<InputFile> has no Name"},
		{"empty bulk", `<ActivityDescriptions/>`, "holds no ActivityDescription"},
		{"two roots", `<ActivityDescription xmlns="` + NS + `"/><ActivityDescription/>`, "more than one root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.xml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "bad.xml:") {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestUnitsOnTheWire(t *testing.T) {
	j := jobdesc.Job{Executable: jobdesc.Executable{Path: "run.sh"},
		Resources: jobdesc.Resources{MemoryMB: 2000, DiskMB: 10, WallTime: 90 * time.Minute, CPUTime: 2 * time.Hour}, Lifetime: 7 * 24 * time.Hour}
	out, _, err := Write(j)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"<IndividualPhysicalMemory>2097152000<", "<DiskSpaceRequirement>10485760<", "<WallTime>5400<", "<TotalCPUTime>7200<", "<WipeTime>P7D<", `xmlns="` + NS + `"`} {
		if !strings.Contains(s, want) {
			t.Errorf("ADL lacks %s:\n%s", want, s)
		}
	}
	bulk, _, _ := Write(j, j)
	if js, err := Parse("bulk", bulk); err != nil || len(js) != 2 || !strings.HasPrefix(strings.TrimSpace(strings.SplitN(string(bulk), "\n", 2)[1]), "<ActivityDescriptions>") {
		t.Fatalf("bulk: %v %d\n%s", err, len(js), bulk)
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "corpus", "adl-cases", "*.xml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		jobs, err := Parse("f", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f") {
				t.Fatalf("error without file: %v", err)
			}
			return
		}
		if _, _, err := Write(jobs...); err != nil {
			t.Fatalf("cannot write what was read: %v", err)
		}
	})
}

// TestDeepNestingIsRefused: a million nested elements end in a positioned
// error, not a stack overflow.
func TestDeepNestingIsRefused(t *testing.T) {
	const n = 1_000_000
	src := `<ActivityDescription xmlns="http://www.eu-emi.eu/es/2010/12/adl"><Application>` +
		strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + `</Application></ActivityDescription>`
	_, err := Parse("deep.adl", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "deep.adl:1:") || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("got %v", err)
	}
}

// TestNULRefusedWithPosition: a NUL byte in an ADL, raw or as a character
// reference, is refused at its file:line:col (XML forbids it).
func TestNULRefusedWithPosition(t *testing.T) {
	const head = `<ActivityDescription xmlns="http://www.eu-emi.eu/es/2010/12/adl"><Application><Executable><Path>`
	for _, nul := range []string{"\x00", "&#0;", "&#x0;"} {
		_, err := Parse("a.adl", []byte(head+"/bin/ec"+nul+"ho</Path></Executable></Application></ActivityDescription>"))
		if err == nil || !strings.HasPrefix(err.Error(), "a.adl:1:") || !strings.Contains(err.Error(), "U+0000") {
			t.Errorf("%q: %v; want it refused at a.adl:1:col", nul, err)
		}
	}
}
