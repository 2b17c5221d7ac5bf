package describecmd

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/corpus"
	"github.com/cesub/cesub/internal/jobgen"
)

type outcome struct {
	out, err string
	failed   string
}

// describe runs describeRun on file, streamed or (whole) reading every
// job first as describe did before it streamed.
func describe(t *testing.T, file, to string, whole bool, out io.Writer, onWrite func(int)) outcome {
	t.Helper()
	cfg, err := config.Load(config.Options{Getenv: func(string) string { return "" }, Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &errb}, Config: cfg}
	o := outcome{}
	if err := describeRun(&Options{F: f, File: file, To: to, whole: whole, onWrite: onWrite}); err != nil {
		o.failed = err.Error()
	}
	o.err = errb.String()
	if b, ok := out.(*bytes.Buffer); ok {
		o.out = b.String()
	}
	return o
}

// multi joins job bodies in a +(…)(…) description.
func multi(jobs ...string) string { return "+\n(" + strings.Join(jobs, ")\n(") + ")\n" }

// TestStreamedIsWhole: what describe prints a job at a time (xRSL to json,
// xrsl, adl) is what it printed reading every job first, byte for byte on
// stdout and stderr, with the same error: for valid files, for warnings
// that only a later job reveals (an undefined $(VAR) in the last job is
// put on every job), and for errors after valid jobs (nothing is written).
func TestStreamedIsWhole(t *testing.T) {
	ok := `&(executable="run.sh")(arguments="a")(jobname="one")(walltime=60)(memory=1000)`
	cases := map[string]string{
		"generated.xrsl":  string(jobgen.XRSL(40)),
		"single.xrsl":     ok,
		"late-var.xrsl":   multi(ok, ok, `&(executable=$(BIN))(jobname="late")`),
		"alts.xrsl":       multi(ok, `&(executable="x")(|(queue="a")(queue="b"))`),
		"unknown.xrsl":    multi(`&(executable="x")(frobnicate="1")`, ok, `&(executable="y")(frobnicate="1")(gizmo=2)`),
		"decode-err.xrsl": multi(ok, `&(executable="x")(walltime="soon")`, ok, `&(executable="y")(memory="lots")`),
		"syntax-late.xrsl": multi(`&(executable="x")(walltime="soon")`, ok,
			`&(executable="y")(arguments="unclosed)`),
		"eval-then-syntax.xrsl": multi(ok, `&(rsl_substitution=("A"))(executable="x")`, ok, `&(executable=`),
		"eval-err.xrsl":         multi(`&(executable="x")(walltime="soon")`, `&(rsl_substitution=("A" "1" "2"))(executable="x")`, ok),
		"junk.xrsl":             multi(ok, ok) + "junk",
		"empty-plus.xrsl":       "+ (* nothing *)",
		"nested-plus.xrsl":      multi(ok, `+(&(executable="x"))`),
	}
	dir := t.TempDir()
	var files []string
	for name, text := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if cdir := corpusDir(t); cdir != "" {
		all, _ := filepath.Glob(filepath.Join(cdir, "xrsl", "*"))
		cases, _ := filepath.Glob(filepath.Join(cdir, "xrsl-cases", "*.xrsl"))
		files = append(append(files, all...), cases...)
	}
	failed := 0
	for _, file := range files {
		for _, to := range []string{"json", "xrsl", "adl"} {
			var a, b bytes.Buffer
			whole := describe(t, file, to, true, &a, nil)
			streamed := describe(t, file, to, false, &b, nil)
			if whole != streamed {
				t.Errorf("%s --to %s: streamed differs:\n got %+v\nwant %+v", filepath.Base(file), to, streamed, whole)
			}
			if whole.failed != "" {
				failed++
			}
		}
	}
	// the crafted cases above that must fail do
	if failed < 3*6 {
		t.Errorf("only %d refused runs: the error cases did not run", failed)
	}
}

// corpusDir is ../shared/corpus when present ("" when absent outside CI).
func corpusDir(t *testing.T) (dir string) {
	t.Run("corpus", func(t *testing.T) { dir = corpus.Dir(t) })
	return dir
}

// TestDescribeStreamsJobs: of a 5,000-job xRSL, the output starts (the
// writer sees job 1) before the writing pass has read the last job, and
// the read is a job at a time.
func TestDescribeStreamsJobs(t *testing.T) {
	const n = 5000
	file := filepath.Join(t.TempDir(), "big.xrsl")
	if err := os.WriteFile(file, jobgen.XRSL(n), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"json", "xrsl", "adl"} {
		read := -1
		w := &firstWrite{read: &read, at: -1}
		o := describe(t, file, to, false, w, func(i int) { read = i })
		if o.failed != "" {
			t.Fatalf("--to %s: %s", to, o.failed)
		}
		if read != n-1 {
			t.Fatalf("--to %s: the writing pass read %d jobs, want %d", to, read+1, n)
		}
		if w.at < 0 || w.at >= n/10 {
			t.Errorf("--to %s: the first output came when %d of %d jobs had been read: not streamed", to, w.at+1, n)
		}
		if !strings.Contains(w.firstBytes, "pilot-0") {
			t.Errorf("--to %s: the first output is not job 1: %.200q", to, w.firstBytes)
		}
	}
}

// firstWrite records how many jobs had been read at the first write.
type firstWrite struct {
	buf        bytes.Buffer
	read       *int
	at         int
	firstBytes string
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.at < 0 && len(p) > 0 {
		w.at, w.firstBytes = *w.read, string(p)
	}
	return w.buf.Write(p)
}
