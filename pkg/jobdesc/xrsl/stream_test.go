package xrsl

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/jobgen"
)

// wholeTree is how ParseDialect read before it streamed: the whole tree,
// evaluated whole, then decoded.
func wholeTree(file string, src []byte, d Dialect) ([]any, string) {
	tree, err := ParseTree(file, src)
	if err != nil {
		return nil, err.Error()
	}
	jobs, err := decode(file, tree, d)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	var out []any
	for _, j := range jobs {
		out = append(out, j)
	}
	return out, msg
}

func streamed(file string, src []byte, d Dialect) ([]any, string) {
	jobs, err := ParseDialect(file, src, d)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	var out []any
	for _, j := range jobs {
		out = append(out, j)
	}
	return out, msg
}

var streamSeeds = []string{
	`+(&(executable=a)(walltime="soon"))(&(executable=b))(&(executable=`,
	`+(&(executable=a)(walltime="soon"))(&(rsl_substitution=("A" "1" "2"))(executable=x))(&(executable=b)(memory=lots))`,
	`+(&(executable=a))(&(rsl_substitution=("A"))(executable=x))(&(executable="unclosed)`,
	`+(&(executable=a)(rsl_substitution=("A" "1"))(arguments=$(A) $(B)))(&(executable=$(C))(|(queue=x)(queue=$(D))))`,
	`+(&(executable=a))(&(executable=b)) junk`,
	`+(&(executable=a))(+(&(executable=b)))`,
	`+(&(executable=a)(frob=1))(&(executable=b)(frob=1)(gizmo=2))(&(executable=a)(cputime=1)(cputime=2))`,
	`+ (* c *) (&(executable=a)) (* d *) (&(executable=b)(|(queue=x)(&(queue=y)(|(count=1)(count=2)))))`,
	`+`, `+ (`, `+(`, `+()`, "+(&(executable=a))\x00", `&(executable=a)(arguments=$(X))`,
	`&(rsl_substitution=("X" "1"))(|(executable=$(X))(&(rsl_substitution=("X" "2"))(executable=$(X))))`,
}

// TestStreamIsWholeTree: ParseDialect, which reads a sub-request at a
// time, gives the jobs and the error (same text) of the whole-tree path,
// in both dialects, on crafted error orders, a generated file and the corpus.
func TestStreamIsWholeTree(t *testing.T) {
	inputs := append([]string(nil), streamSeeds...)
	inputs = append(inputs, string(jobgen.XRSL(30)))
	if files, _ := filepath.Glob(filepath.Join(corpusDirOrEmpty(t), "xrsl-cases", "*.xrsl")); len(files) > 0 {
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, string(b), "+("+string(b)+")("+string(b)+")")
		}
	}
	for _, in := range inputs {
		for _, d := range []Dialect{User, GridManager} {
			wj, we := wholeTree("f.xrsl", []byte(in), d)
			sj, se := streamed("f.xrsl", []byte(in), d)
			if we != se || !reflect.DeepEqual(wj, sj) {
				t.Errorf("%.80q (dialect %d):\nstreamed %v %+v\nwhole    %v %+v", in, d, se, sj, we, wj)
			}
		}
	}
}

func corpusDirOrEmpty(t *testing.T) (dir string) {
	t.Run("corpus", func(t *testing.T) { dir = corpusDir(t) })
	return dir
}

// TestStreamYieldsBeforeReadingOn: the stream gives the first job before
// it has read the rest: a syntax error in the third sub-request comes
// after two jobs.
func TestStreamYieldsBeforeReadingOn(t *testing.T) {
	s := NewStream("f", []byte("+(&(executable=a))\n(&(executable=b))\n(&(executable=\"c)"), User)
	for _, want := range []string{"a", "b"} {
		j, ok, err := s.Next()
		if err != nil || !ok || j.Executable.Path != want {
			t.Fatalf("job %s: %+v %v %v", want, j.Executable, ok, err)
		}
	}
	if _, ok, err := s.Next(); ok || err == nil || !strings.Contains(err.Error(), "f:3:15: unterminated double-quoted string") {
		t.Fatalf("third: %v %v", ok, err)
	}
	s.Rewind()
	if j, ok, err := s.Next(); !ok || err != nil || j.Executable.Path != "a" {
		t.Fatalf("after Rewind: %+v %v %v", j.Executable, ok, err)
	}
}

// FuzzStreamIsWholeTree is TestStreamIsWholeTree on any input.
func FuzzStreamIsWholeTree(f *testing.F) {
	for _, s := range streamSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		wj, we := wholeTree("f", b, User)
		sj, se := streamed("f", b, User)
		if we != se || !reflect.DeepEqual(wj, sj) {
			t.Fatalf("%q:\nstreamed %v %+v\nwhole    %v %+v", b, se, sj, we, wj)
		}
	})
}

// BenchmarkStreamRealShaped reads the same file a job at a time, as
// `cesub describe` does (Stream): nothing is kept.
func BenchmarkStreamRealShaped(b *testing.B) {
	src := jobgen.XRSL(10000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	cpu := jobgen.CPU()
	defer func() { b.ReportMetric(jobgen.PerCPUSecond(int64(len(src)), b.N, jobgen.CPU()-cpu), "MB/cpu-s") }()
	for i := 0; i < b.N; i++ {
		s := NewStream("big.xrsl", src, User)
		n := 0
		for {
			_, ok, err := s.Next()
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
			n++
		}
		if s.Err() != nil || n != 10000 {
			b.Fatalf("%v %d", s.Err(), n)
		}
	}
}
