package format

import (
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      Format
	}{
		{"job.xrsl", "", XRSL},
		{"job.XML", "", ADL},
		{"pilot.sub", "&(executable=x)", Submit}, // the name wins
		{"-", "(* a comment *)\n(* another *) &(executable=/bin/true)", XRSL},
		{"-", "  <ActivityDescription/>", ADL},
		{"-", "+(&(a=b))", XRSL},
		{"-", "executable = /bin/true\nqueue\n", Submit},
		{"-", "", Submit},
		{"-", "(* unclosed", Submit},
	} {
		if got := Detect(tc.name, []byte(tc.src)); got != tc.want {
			t.Errorf("Detect(%q, %q) = %s, want %s", tc.name, tc.src, got, tc.want)
		}
	}
	if f, err := Parse("XRSL"); err != nil || f != XRSL {
		t.Errorf("Parse: %s %v", f, err)
	}
	if _, err := Parse("jdl"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestReadWriteEachLanguage: a job read from each language and written in
// each comes back with the same executable, arguments and name; Origin
// records where it came from.
func TestReadWriteEachLanguage(t *testing.T) {
	sources := map[Format]string{
		XRSL:   `&(executable="/bin/echo")(arguments="a b" "c")(jobname="rt")(stdout="out.txt")`,
		Submit: "executable = /bin/echo\narguments = \"'a b' c\"\nbatch_name = rt\noutput = out.txt\nqueue\n",
	}
	for from, src := range sources {
		jobs, err := Read(from, "job."+string(from), []byte(src), Options{Dir: t.TempDir()})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("%s: %v %d", from, err, len(jobs))
		}
		j := jobs[0]
		if j.Origin == nil || j.Origin.Format != string(from) || string(j.Origin.Text) != src {
			t.Errorf("%s: origin %+v", from, j.Origin)
		}
		for _, to := range All {
			text, _, err := Write(to, jobs)
			if err != nil {
				t.Fatalf("%s -> %s: %v", from, to, err)
			}
			back, err := Read(to, "back", []byte(text), Options{Dir: t.TempDir()})
			if err != nil || len(back) != 1 {
				t.Fatalf("%s -> %s does not read back: %v\n%s", from, to, err, text)
			}
			b := back[0]
			if b.Executable.Path != "/bin/echo" || strings.Join(b.Executable.Args, "|") != "a b|c" || b.Name != "rt" {
				t.Errorf("%s -> %s: %+v %q %q\n%s", from, to, b.Executable, b.Name, b.Stdout, text)
			}
		}
	}
	if _, _, err := Write(XRSL, nil); err == nil {
		t.Error("writing no jobs succeeded")
	}
	two, _ := Read(XRSL, "x", []byte(`+(&(executable=a))(&(executable=b))`), Options{})
	if text, _, _ := Write(XRSL, two); !strings.HasPrefix(text, "+(") {
		t.Errorf("two jobs are not written as a +(…)(…) list: %s", text)
	}
}

// TestReadKeepsStdinItems: what `queue … from -` read of standard input is
// on each job's origin (for the backend that reads the file again); a file
// that does not read it leaves standard input unread.
func TestReadKeepsStdinItems(t *testing.T) {
	src := []byte("executable = /bin/echo\narguments = $(item)\nqueue item from -\n")
	jobs, err := Read(Submit, "q.sub", src, Options{Dir: t.TempDir(), Stdin: strings.NewReader("a\nb\n")})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("%v %d", err, len(jobs))
	}
	for _, j := range jobs {
		if string(j.Origin.Stdin) != "a\nb\n" {
			t.Errorf("origin stdin %q", j.Origin.Stdin)
		}
	}
	in := strings.NewReader("untouched")
	jobs, err = Read(Submit, "one.sub", []byte("executable = /bin/echo\nqueue\n"), Options{Dir: t.TempDir(), Stdin: in})
	if err != nil || len(jobs) != 1 || jobs[0].Origin.Stdin != nil || in.Len() != len("untouched") {
		t.Errorf("a file without `from -` read stdin: %v %q %d", err, jobs[0].Origin.Stdin, in.Len())
	}
}
