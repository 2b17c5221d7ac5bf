package arctools

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
)

// statOptions are arcstat's options.
type statOptions struct {
	common
	sel         selection
	long        bool
	json        bool
	printIDs    bool
	unavailable bool
	sort, rsort string
}

// jobState is one job of ARC's list and what its CE said.
type jobState struct {
	arc      arcjoblist.Job
	job      *ce.Job // nil: no information
	general  string
	specific string
}

func runStat(ctx context.Context, s *session, args []string) int {
	var o statOptions
	fs := newFlags("[job ...]")
	o.sel.add(fs, true)
	fs.BoolVarP(&o.long, "long", "l", false, "long format (more information)")
	fs.BoolVarP(&o.json, "json", "J", false, "output in JSON format")
	fs.BoolVarP(&o.printIDs, "print-jobids", "p", false, "instead of the status only the IDs of the selected jobs will be printed")
	fs.BoolVarP(&o.unavailable, "show-unavailable", "u", false, "show jobs where status information is unavailable")
	fs.StringVarP(&o.sort, "sort", "S", "", "sort jobs by jobid, submissiontime or jobname")
	fs.StringVarP(&o.rsort, "rsort", "R", "", "reverse sorting of jobs by jobid, submissiontime or jobname")
	o.addCommon(fs)
	if code, ok := s.parse(fs, &o.common, args); !ok {
		return code
	}
	o.sel.ids = fs.Args()
	if code, ok := checkSort(s, &o); !ok {
		return code
	}
	list, code, ok := s.pick(ctx, &o.sel, o.joblist != "")
	if !ok {
		return code
	}
	if len(list) == 0 {
		fmt.Fprintln(s.f.IO.Out, "No jobs found, try later")
		return 1
	}
	if err := s.open(ctx); err != nil {
		s.errorf("%v", err)
		return 1
	}
	defer s.close()
	states := s.query(ctx, list, o.long)
	shown, answered := selectStates(states, o.sel.states, o.unavailable)
	sortStates(shown, o.sort+o.rsort, o.rsort != "")
	printStates(s.f.IO.Out, shown, o)
	if !o.json {
		fmt.Fprintf(s.f.IO.Out, "Status of %d jobs was queried, %d jobs returned information\n", len(list), answered)
	}
	return 0
}

// checkSort refuses an unknown ordering, or -S with -R, as arcstat does.
func checkSort(s *session, o *statOptions) (int, bool) {
	if o.sort != "" && o.rsort != "" {
		s.errorf("The 'sort' and 'rsort' flags cannot be specified at the same time.")
		return 1, false
	}
	by := o.sort + o.rsort
	if by != "" && by != "jobid" && by != "submissiontime" && by != "jobname" {
		fmt.Fprintf(s.f.IO.ErrOut, "Jobs cannot be sorted by \"%s\", the following orderings are supported:\njobid\njobname\nsubmissiontime\n", by)
		return 1, false
	}
	return 0, true
}

// query asks the CEs for the jobs' states (with long, their details).
func (s *session) query(ctx context.Context, list []arcjoblist.Job, long bool) []jobState {
	recs := make([]jobstore.Job, len(list))
	for i, j := range list {
		recs[i] = record(j)
	}
	results, _ := s.runner().ForEachCE(ctx, recs, 3, func(cctx context.Context, b ce.Backend, g []jobstore.Job) ([]ce.Result, error) {
		ids := make([]string, len(g))
		for i, j := range g {
			ids[i] = j.LocalID
		}
		if d, ok := b.(ce.Detailer); ok && long {
			return d.Details(cctx, ids)
		}
		return b.Status(cctx, ids)
	})
	got := byLocal(results, list)
	out := make([]jobState, len(list))
	for i, j := range list {
		st := jobState{arc: j, general: "Undefined"}
		if r, ok := got[j.IDFromEndpoint]; ok && r.Err == nil && r.Job != nil {
			st.job, st.general, st.specific = r.Job, generalState(r.Job), r.Job.RawState
		} else if ok && r.Err != nil {
			s.f.Infof("%s: %v", j.ID, r.Err)
		}
		out[i] = st
	}
	return out
}

// selectStates keeps the jobs -s asks for and, unless -u, those with
// information; answered counts those with information among them.
func selectStates(all []jobState, states []string, unavailable bool) (shown []jobState, answered int) {
	for _, st := range all {
		if !stateMatches(states, st.general, st.specific) {
			continue
		}
		if st.job != nil {
			answered++
		} else if !unavailable {
			continue
		}
		shown = append(shown, st)
	}
	return shown, answered
}

// sortStates orders jobs as -S/-R ask.
func sortStates(list []jobState, by string, reverse bool) {
	key := func(st jobState) string {
		switch by {
		case "jobname":
			return st.arc.Name
		case "submissiontime":
			return st.arc.Submitted.UTC().Format(time.RFC3339)
		}
		return st.arc.ID
	}
	if by == "" {
		return
	}
	sort.SliceStable(list, func(a, b int) bool {
		if reverse {
			return key(list[a]) > key(list[b])
		}
		return key(list[a]) < key(list[b])
	})
}

// printStates prints the jobs as arcstat does, as text or JSON.
func printStates(w io.Writer, list []jobState, o statOptions) {
	if o.json {
		fmt.Fprint(w, `{"jobs": [`)
		for i, st := range list {
			if i > 0 {
				fmt.Fprint(w, ",")
			}
			fmt.Fprintln(w)
			if o.printIDs && !o.long {
				fmt.Fprintf(w, "%q", st.arc.ID)
				continue
			}
			writeJSON(w, st, o.long)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "]}")
		return
	}
	for _, st := range list {
		if o.printIDs && !o.long {
			fmt.Fprintln(w, st.arc.ID)
			continue
		}
		writeText(w, st, o.long)
	}
}

// writeText is one job's block (Job.SaveToStream in ARC).
func writeText(w io.Writer, st jobState, long bool) {
	fmt.Fprintf(w, "Job: %s\n", st.arc.ID)
	if st.arc.Name != "" {
		fmt.Fprintf(w, " Name: %s\n", oneLine(st.arc.Name))
	}
	fmt.Fprintf(w, " State: %s\n", st.general)
	if long && st.specific != "" {
		fmt.Fprintf(w, " Specific state: %s\n", oneLine(st.specific))
	}
	if code := exitCode(st); code != nil {
		fmt.Fprintf(w, " Exit Code: %d\n", *code)
	}
	if st.job != nil {
		for _, e := range st.job.Errors {
			fmt.Fprintf(w, " Job Error: %s\n", oneLine(e))
		}
	}
	if long {
		writeLong(w, st)
	}
	fmt.Fprintln(w)
}

// writeLong is arcstat -l's fields that cesub knows.
func writeLong(w io.Writer, st jobState) {
	a := st.arc
	var d ce.Details
	if st.job != nil && st.job.Details != nil {
		d = *st.job.Details
	}
	line := func(label, v string) {
		if v != "" {
			fmt.Fprintf(w, " %s: %s\n", label, oneLine(v))
		}
	}
	line("Owner", d.Owner)
	line("Queue", d.Queue)
	line("Stdout", a.StdOut)
	line("Stderr", a.StdErr)
	line("Computing Service Log Directory", a.LogDir)
	if !a.Submitted.IsZero() {
		line("Submitted", a.Submitted.Local().Format("2006-01-02 15:04:05"))
	}
	if d.Ended != nil {
		line("End Time", d.Ended.Local().Format("2006-01-02 15:04:05"))
	}
	line("Submitted from", d.SubmittedFrom)
	if d.CPUTime != nil {
		line("Used CPU Time", fmt.Sprintf("%d seconds", *d.CPUTime))
	}
	if d.WallTime != nil {
		line("Used Wall Time", fmt.Sprintf("%d seconds", *d.WallTime))
	}
	line("ID on service", a.IDFromEndpoint)
	for _, l := range []string{"Service information URL", "Job status URL", "Job management URL"} {
		line(l, a.ServiceURL+" ("+a.Interface+")")
	}
	if a.DelegationID != "" {
		fmt.Fprintf(w, " Delegation IDs:\n  %s\n", a.DelegationID)
	}
}

// writeJSON is one job as arcstat -J writes it (Job.SaveToStreamJSON).
func writeJSON(w io.Writer, st jobState, long bool) {
	var pairs []string
	add := func(k, v string) { pairs = append(pairs, fmt.Sprintf(" %q: %s", k, jsonString(v))) }
	add("id", st.arc.ID)
	if st.arc.Name != "" {
		add("name", st.arc.Name)
	}
	add("state", st.general)
	if long && st.specific != "" {
		add("specificState", st.specific)
	}
	if code := exitCode(st); code != nil {
		pairs = append(pairs, fmt.Sprintf(" \"exitCode\": %d", *code))
	}
	if st.job != nil && len(st.job.Errors) > 0 {
		q := make([]string, len(st.job.Errors))
		for i, e := range st.job.Errors {
			q[i] = jsonString(e)
		}
		pairs = append(pairs, " \"jobError\": ["+strings.Join(q, ",")+"]")
	}
	if long {
		longJSON(add, st.arc)
	}
	fmt.Fprintf(w, "{\n%s\n}", strings.Join(pairs, ",\n"))
}

// longJSON adds arcstat -l -J's fields that cesub knows of the job list.
func longJSON(add func(k, v string), a arcjoblist.Job) {
	for _, kv := range [][2]string{{"stdout", a.StdOut}, {"stderr", a.StdErr}, {"logDirectory", a.LogDir}, {"serviceId", a.IDFromEndpoint},
		{"serviceInformationURL", a.ServiceURL}, {"serviceInformationInterface", a.Interface},
		{"jobStatusURL", a.ServiceURL}, {"jobStatusInterface", a.Interface},
		{"jobManagementURL", a.ServiceURL}, {"jobManagementInterface", a.Interface}} {
		if kv[1] != "" {
			add(kv[0], kv[1])
		}
	}
}

// exitCode is the job's exit code as arcstat shows it: the CE's, or 0 for
// a job A-REX calls FINISHED (one that exits with another code is FAILED).
func exitCode(st jobState) *int {
	if st.job == nil {
		return nil
	}
	if st.job.ExitCode != nil {
		return st.job.ExitCode
	}
	if st.general == "Finished" && len(st.job.Errors) == 0 {
		zero := 0
		return &zero
	}
	return nil
}
