package submitfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/corpus"
	"github.com/cesub/cesub/pkg/classad"
)

func corpusDir(t testing.TB) string { return corpus.Dir(t) }

type caseSpec struct {
	ParseOK        *bool               `json:"parse_ok"`
	HowRun         string              `json:"how_run"`
	Procs          []map[string]any    `json:"procs"`
	JobCount       *int                `json:"expected_job_count"`
	ArgsSetRaw     json.RawMessage     `json:"expected_args_set"`
	ArgsSet        []string            `json:"-"`
	AbsoluteDirs   map[string]string   `json:"absolute_dirs"`
	Fragment       bool                `json:"fragment"`
	ArgsInOrder    []string            `json:"expected_args_in_order"`
	ArgsInclude    []string            `json:"expected_args_values_include"`
	ArgsMatch      string              `json:"expected_args_values_match"`
	TransferInput  []string            `json:"expected_TransferInput_values"`
	ItemData       []map[string]string `json:"expected_itemdata"`
	Values         map[string]string   `json:"expected_values"`
	ExtraFiles     map[string]string   `json:"extra_files"`
	AssumedFiles   []string            `json:"assumed_files"`
	RequiresConfig string              `json:"requires_config"`
	AdLine         string              `json:"expected_ad_line"`
	Stdin          string              `json:"stdin"`
}

var reCluster = regexp.MustCompile(`ClusterId = (?:leading number = )?(\d+)|cluster=(\d+)`)

// regressName: the dry-run bundle writes each case as NNNname.sub (cluster NNN).
var reLeading = regexp.MustCompile(`written as (\d+)(\S+)`)

func TestCorpusCases(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "submit-cases")
	files, _ := filepath.Glob(filepath.Join(dir, "*.expected.json"))
	if len(files) < 100 {
		t.Fatalf("%d cases", len(files))
	}
	tl := &corpusTally{outsideAttrs: map[string]int{}}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".expected.json")
		t.Run(name, func(t *testing.T) { runCorpusCase(t, f, tl) })
	}
	t.Logf("%d submit cases run; %d CE-subset attribute values compared; %d values outside the subset not compared (%d attributes)",
		tl.ran, tl.compared, tl.outside, len(tl.outsideAttrs))
}

// corpusTally counts what the corpus cases compared.
type corpusTally struct {
	compared, outside, ran int
	outsideAttrs           map[string]int
}

// argsSummary is expected_args_set given as its first and last values and
// their count.
type argsSummary struct {
	First, Last []string
	Count       int
}

// runCorpusCase parses one case's submit file as its expectations say
// condor_submit ran it, and compares.
func runCorpusCase(t *testing.T, f string, tl *corpusTally) {
	b, _ := os.ReadFile(f)
	var c caseSpec
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	var sum argsSummary
	if len(c.ArgsSetRaw) > 0 && json.Unmarshal(c.ArgsSetRaw, &c.ArgsSet) != nil {
		if err := json.Unmarshal(c.ArgsSetRaw, &sum); err != nil {
			t.Fatalf("expected_args_set: %v", err)
		}
	}
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	if c.RequiresConfig != "" {
		t.Skip("needs pool configuration (EXTENDED_SUBMIT_COMMANDS / SUBMIT_TEMPLATE): a schedd-side feature")
	}
	src, err := os.ReadFile(strings.TrimSuffix(f, ".expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	file, src, ok := parseCorpusCase(t, &c, raw, src)
	if !ok {
		return
	}
	tl.ran++
	compareCorpusProcs(t, &c, file, src, tl)
	checkCorpusArgs(t, &c, sum, file)
	checkCorpusItems(t, &c, file, tl)
}

// parseCorpusCase writes the case's files into a temporary working
// directory and parses its submit file there; ok is false when the case
// expects condor_submit to refuse it and it was refused.
func parseCorpusCase(t *testing.T, c *caseSpec, raw map[string]any, src []byte) (*File, []byte, bool) {
	work := t.TempDir()
	for _, x := range []string{"basic.cmd", "cmd_true.cmd", "Multilevel_Thesis_WheatData/70", "Multilevel_Thesis_WheatData/216", "Multilevel_Thesis_WheatData/240"} {
		writeFile(t, filepath.Join(work, x), "")
	}
	for n, content := range c.ExtraFiles {
		writeFile(t, filepath.Join(work, n), content)
	}
	for _, n := range c.AssumedFiles {
		writeFile(t, filepath.Join(work, n), "")
	}
	for k, v := range raw { // helper scripts the documentation shows
		if name, ok := strings.CutPrefix(k, "documented_script_"); ok {
			writeFile(t, filepath.Join(work, name), fmt.Sprint(v))
			_ = os.Chmod(filepath.Join(work, name), 0o755)
		}
	}
	for n, content := range c.AbsoluteDirs { // /TOPDIR is the test's working directory
		writeFile(t, strings.Replace(n, "/TOPDIR", work, 1), content)
	}
	src = []byte(strings.ReplaceAll(string(src), "/TOPDIR", work))
	if c.Fragment && !regexp.MustCompile(`(?mi)^\s*queue`).Match(src) {
		src = append(src, []byte("\nqueue\n")...)
	}
	cluster := 1
	fileName := "job.sub"
	if m := reLeading.FindStringSubmatch(c.HowRun); m != nil {
		cluster, _ = strconv.Atoi(m[1])
		fileName = m[1] + m[2]
	} else if m := reCluster.FindStringSubmatch(c.HowRun); m != nil {
		cluster, _ = strconv.Atoi(m[1] + m[2])
	}
	writeFile(t, filepath.Join(work, fileName), string(src))
	path := fileName // as given on condor_submit's command line, relative to the working directory
	o := ParseOptions{Options: Options{Dir: work, Env: func(string) string { return "" }, Now: time.Unix(1700000000, 0), AllowCommands: true,
		Stdin: strings.NewReader(c.Stdin)}, ClusterID: cluster}
	file, err := Parse(path, src, o)
	if c.ParseOK != nil && !*c.ParseOK {
		if err == nil {
			t.Fatalf("accepted; the source says condor_submit rejects it")
		}
		return nil, src, false
	}
	if err != nil {
		if c.ParseOK != nil {
			t.Fatalf("rejected: %v", err)
		}
		// a documentation fragment (no executable, say): only the expansion is stated
		if !strings.Contains(err.Error(), "executable") && !strings.Contains(err.Error(), "queue") {
			t.Fatalf("fragment: %v", err)
		}
		file, err = Parse(path, append([]byte("executable = /bin/true\n"), src...), o)
		if err != nil {
			t.Fatalf("fragment with an executable: %v", err)
		}
	}
	return file, src, true
}

// compareCorpusProcs compares the CE-subset attributes of each proc with
// the ads condor_submit made, and counts the others.
func compareCorpusProcs(t *testing.T, c *caseSpec, file *File, src []byte, tl *corpusTally) {
	// features outside the CE subset that add Requirements clauses
	reqOutside := regexp.MustCompile(`(?i)deferral_time|encrypt_execute_directory|cron_|want_io_proxy`).Match(src)
	for i, want := range c.Procs {
		if i >= len(file.Procs) {
			t.Errorf("expected at least %d procs, got %d", i+1, len(file.Procs))
			break
		}
		for attr, exp := range want {
			if !inSubset(attr) || attr == "Requirements" && reqOutside {
				tl.outside++
				tl.outsideAttrs[attr]++
				continue
			}
			got, ok := file.Procs[i].Ad.Get(attr)
			if !ok {
				t.Errorf("proc %d: no %s, want %v", i, attr, exp)
				continue
			}
			tl.compared++
			if msg := matches(classad.Unparse(got), exp); msg != "" {
				t.Errorf("proc %d: %s: %s", i, attr, msg)
			}
		}
	}
	if c.JobCount != nil && len(file.Procs) != *c.JobCount {
		t.Errorf("%d procs, want %d", len(file.Procs), *c.JobCount)
	}
}

// checkCorpusArgs compares the procs' arguments: as a summary, a set, in
// order, included values or a pattern.
func checkCorpusArgs(t *testing.T, c *caseSpec, sum argsSummary, file *File) {
	var args []string
	for _, p := range file.Procs {
		args = append(args, argsOf(p))
	}
	if sum.Count > 0 {
		got := args
		if len(got) != sum.Count || strings.Join(got[:len(sum.First)], "|") != strings.Join(sum.First, "|") ||
			strings.Join(got[len(got)-len(sum.Last):], "|") != strings.Join(sum.Last, "|") {
			t.Errorf("args: %d values, want %d starting %q and ending %q", len(got), sum.Count, sum.First, sum.Last)
		}
	}
	if c.ArgsSet != nil || c.JobCount != nil && *c.JobCount == 0 {
		got := append([]string(nil), args...)
		sort.Strings(got)
		want := append([]string(nil), c.ArgsSet...)
		sort.Strings(want)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("args set %q, want %q", got, want)
		}
	}
	if c.ArgsInOrder != nil && strings.Join(args, "|") != strings.Join(c.ArgsInOrder, "|") {
		t.Errorf("args in order:\n got %q\nwant %q", args, c.ArgsInOrder)
	}
	for _, w := range c.ArgsInclude {
		if !contains(args, w) {
			t.Errorf("no proc has args %q (have %q)", w, args)
		}
	}
	if c.ArgsMatch != "" {
		re := regexp.MustCompile(c.ArgsMatch)
		for _, a := range args {
			if !re.MatchString(a) {
				t.Errorf("args %q do not match %s", a, c.ArgsMatch)
			}
		}
	}
}

// checkCorpusItems compares TransferInput, the queue's item data, an ad
// line and macro values.
func checkCorpusItems(t *testing.T, c *caseSpec, file *File, tl *corpusTally) {
	if c.TransferInput != nil {
		var got []string
		for _, p := range file.Procs {
			if e, ok := p.Ad.Get("TransferInput"); ok {
				got = append(got, string(e.(classad.String)))
			}
		}
		if strings.Join(got, "|") != strings.Join(c.TransferInput, "|") {
			t.Errorf("TransferInput %q, want %q", got, c.TransferInput)
		}
	}
	if c.ItemData != nil {
		if len(file.Procs) != len(c.ItemData) {
			t.Fatalf("%d procs for %d item rows", len(file.Procs), len(c.ItemData))
		}
		for i, row := range c.ItemData {
			for k, v := range row {
				if got := file.Procs[i].Vars.Get(strings.ToLower(k)); got != v {
					t.Errorf("item %d: %s = %q, want %q", i, k, got, v)
				}
			}
		}
	}
	if c.AdLine != "" {
		name, want, _ := strings.Cut(c.AdLine, "=")
		got, ok := file.Procs[0].Ad.Get(name)
		if !ok || classad.Unparse(got) != want {
			t.Errorf("ad line %s: got %v", c.AdLine, got)
		}
		tl.compared++
	}
	for k, v := range c.Values {
		if k == "iftest39" || k == "iftest40" {
			continue // STARTER_INITIAL_UPDATE_INTERVAL is a pool configuration default, not defined when submitting (the corpus note)
		}
		if got := file.Procs[0].Macros.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func argsOf(p Proc) string {
	for _, a := range []string{"Args", "Arguments"} {
		if e, ok := p.Ad.Get(a); ok {
			if s, ok := e.(classad.String); ok && (s != "" || a == "Arguments") {
				return string(s)
			}
		}
	}
	return ""
}

func inSubset(attr string) bool {
	for _, s := range Subset {
		if strings.EqualFold(s, attr) {
			return true
		}
	}
	return false
}

func matches(got string, exp any) string {
	switch e := exp.(type) {
	case string:
		if got != e {
			return fmt.Sprintf("%s, want %s", got, e)
		}
	case map[string]any:
		re, err := regexp.Compile(fmt.Sprint(e["regex"]))
		if err != nil {
			return "bad regex in the corpus: " + err.Error()
		}
		if !re.MatchString(got) {
			return fmt.Sprintf("%s does not match /%s/", got, e["regex"])
		}
	}
	return ""
}

func contains(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
