package testcmd

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
)

func mark(s Step) string {
	switch {
	case s.Skipped:
		return "-"
	case s.OK:
		return "ok"
	}
	return "FAIL"
}

// printTable: one row per CE, a column per step, the reasons below.
func printTable(f *cmdutil.Factory, rs []Result) {
	rs = sortResults(rs)
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CE\tFLAVOUR\tTOKEN\tREACH\tAUTH\tREAD\tWRITE\tJOB\tRESULT")
	for _, r := range rs {
		cols := map[string]string{}
		for _, s := range r.Steps {
			cols[s.Name] = mark(s)
		}
		res := "PASS"
		switch {
		case r.Skipped:
			res = "SKIPPED"
		case !r.OK:
			res = "FAIL"
		}
		get := func(k string) string {
			if v, ok := cols[k]; ok {
				return v
			}
			return "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Flavour, get("token"), get("reach"), get("auth"),
			get("read"), get("write"), get("job"), res)
	}
	_ = w.Flush()
	for _, r := range rs {
		if !r.OK && !r.Skipped {
			fmt.Fprintf(f.IO.Out, "%s: %s\n", r.Name, cmdutil.OneLine(r.Reason))
		}
	}
}

// printMarkdown prints the "configured endpoints" table of a testbed page.
func printMarkdown(f *cmdutil.Factory, rs []Result) {
	yesNo := func(b *bool) string {
		switch {
		case b == nil:
			return "–"
		case *b:
			return "yes"
		}
		return "no"
	}
	cell := func(s string) string {
		if s == "" {
			return "–"
		}
		return strings.ReplaceAll(s, "|", `\|`)
	}
	fmt.Fprintln(f.IO.Out, "| Site | Host | Flavour | VO | Audience | Group | Token accepted | Job ran |")
	fmt.Fprintln(f.IO.Out, "|---|---|---|---|---|---|---|---|")
	for _, r := range sortResults(rs) {
		fmt.Fprintf(f.IO.Out, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(r.Site), cell(r.Host), cell(r.Flavour), cell(r.VO),
			cell(r.Audience), cell(r.Group), yesNo(r.TokenAccepted), yesNo(r.JobRan))
	}
}

// The JUnit XML that CI systems read (Jenkins, GitLab, GitHub actions): a
// testsuites root, one testsuite, a testcase per CE with a failure or a
// skipped element, and the steps in system-out.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

func secs(f float64) string { return fmt.Sprintf("%.3f", f) }

// writeJUnit writes the results as JUnit XML (0644: results, no secrets:
// scrub takes out any credential a CE echoed into a reason).
func writeJUnit(path string, rs []Result, now time.Time, scrub func(string) string) error {
	suite := junitSuite{Name: "cesub test", Timestamp: now.UTC().Format("2006-01-02T15:04:05")}
	var total float64
	for _, r := range sortResults(rs) {
		var out strings.Builder
		fmt.Fprintf(&out, "CE %s (%s), token from %s\n", r.CE, r.Flavour, r.TokenSource)
		for _, s := range r.Steps {
			fmt.Fprintf(&out, "%-5s %-4s %6.2fs %s\n", s.Name, mark(s), s.Seconds, s.Detail)
		}
		class := r.Site
		if class == "" {
			class = "cesub." + r.Flavour
		}
		c := junitCase{Name: r.Name, Classname: class, Time: secs(r.Seconds), SystemOut: out.String()}
		switch {
		case r.Skipped:
			c.Skipped = &junitSkipped{Message: "skip: true in the endpoint file"}
			suite.Skipped++
		case !r.OK:
			step, _, _ := strings.Cut(r.Reason, ":")
			c.Failure = &junitFailure{Message: r.Reason, Type: step, Text: out.String()}
			suite.Failures++
		}
		suite.Tests++
		suite.Cases = append(suite.Cases, c)
		total += r.Seconds
	}
	suite.Time = secs(total)
	doc := junitSuites{Name: "cesub test", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: suite.Time,
		Suites: []junitSuite{suite}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	b = append([]byte(xml.Header), append([]byte(scrub(string(b))), '\n')...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}
