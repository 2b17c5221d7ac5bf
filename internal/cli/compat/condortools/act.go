package condortools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/ce/htcondor"
)

// actKind is one of condor_rm, condor_hold, condor_release: the action and
// the words each prints.
type actKind struct {
	tool   string
	action htcondor.Action
	verb   string // "remove": Couldn't find/remove …
	done   string // "marked for removal", "held", "released"
	have   string // "have been marked for removal", …
	reason string
}

var (
	rmTool      = actKind{"condor_rm", htcondor.ActRemove, "remove", "marked for removal", "have been marked for removal", "via condor_rm (by user %s)"}
	holdTool    = actKind{"condor_hold", htcondor.ActHold, "hold", "held", "have been held", "via condor_hold (by user %s)"}
	releaseTool = actKind{"condor_release", htcondor.ActRelease, "release", "released", "have been released", "via condor_release (by user %s)"}
)

// actOpts is the command line of condor_rm/hold/release.
type actOpts struct {
	target
	ids        []string // C or C.P
	constraint string   // the -constraint expressions, joined as the real tools join them
	nConstr    int
	all        bool
	reason     string
}

// argError is a command line the real tools refuse: its message alone
// (usage false), or the usage after it.
type argError struct {
	msg   string
	usage bool
}

func (e argError) Error() string { return e.msg }

func parseActArgs(k actKind, list []string) (*actOpts, error) {
	o := &actOpts{}
	a := &args{list: list}
	for {
		arg, ok := a.next()
		if !ok {
			break
		}
		var err error
		switch {
		case !strings.HasPrefix(arg, "-"):
			err = o.addID(k, arg)
		case isOpt(arg, "name", 1):
			o.name, err = a.value()
		case isOpt(arg, "pool", 1):
			o.pool, err = a.value()
		case isOpt(arg, "constraint", 1):
			var c string
			if c, err = a.value(); err == nil {
				o.addConstraint(c)
			}
		case isOpt(arg, "all", 1): // -a is -all for the real tools too
			// the real tools refuse -all after a constraint or a cluster (not after C.P)
			if o.constraint != "" || slices.ContainsFunc(o.ids, func(id string) bool { return !strings.Contains(id, ".") }) {
				return nil, argError{msg: k.tool + ": can't mix -all with other constraints"}
			}
			o.all = true
		case isOpt(arg, "reason", 1):
			o.reason, err = a.value()
		default:
			return nil, argError{msg: "Unrecognized option: " + arg, usage: true}
		}
		if err != nil {
			if _, ok := err.(argError); ok {
				return nil, err
			}
			return nil, argError{msg: fmt.Sprintf("%s: %v", arg, err), usage: true}
		}
	}
	if len(o.ids) == 0 && o.constraint == "" && !o.all {
		return nil, argError{msg: "You did not specify any jobs", usage: true}
	}
	return o, nil
}

// addID takes a job or cluster id; after -all the real tools print their
// usage and act on nothing.
func (o *actOpts) addID(k actKind, arg string) error {
	if o.all {
		return argError{usage: true}
	}
	if !isJobID(arg) {
		return argError{msg: fmt.Sprintf("cesub emulates %s on job ids, -constraint and -all: a user name (%s) is not supported", k.tool, arg), usage: true}
	}
	o.ids = append(o.ids, arg)
	return nil
}

// addConstraint joins -constraint expressions as the real tools do: the
// first as given, then (A) && (B), then (A) && (B) && (C). A -constraint
// after -all replaces it (the real tools then act on the constraint only).
func (o *actOpts) addConstraint(c string) {
	switch {
	case o.all || o.nConstr == 0:
		o.all, o.constraint = false, c
	case o.nConstr == 1:
		o.constraint = "(" + o.constraint + ") && (" + c + ")"
	default:
		o.constraint += " && (" + c + ")"
	}
	o.nConstr++
}

// isJobID: C or C.P, digits.
func isJobID(s string) bool {
	c, p, hasP := strings.Cut(s, ".")
	return digits(c) && (!hasP || digits(p))
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// actTool makes the Run of condor_rm, condor_hold or condor_release.
func actTool(k actKind) func(context.Context, *cmdutil.Factory, []string) int {
	return func(ctx context.Context, f *cmdutil.Factory, list []string) int {
		o, err := parseActArgs(k, list)
		if err != nil {
			if err.Error() != "" {
				fmt.Fprintln(f.IO.ErrOut, err)
			}
			if ae, ok := err.(argError); !ok || ae.usage {
				fmt.Fprintf(f.IO.ErrOut, "Usage: %s [options] [constraints]   (cesub: -name, -pool, -reason; cluster.proc, cluster, -constraint expr, -all)\n", k.tool)
			}
			return 1
		}
		s, ok := connect(ctx, f, o.target)
		if !ok {
			return 1
		}
		defer s.close()
		reason := o.reason
		if reason == "" {
			reason = fmt.Sprintf(k.reason, "cesub")
		}
		return actAll(ctx, f, s, k, o, reason)
	}
}

// actAll sends one request for the job ids, one per cluster id (as a
// constraint, as the real tools do) and one for -constraint or -all, and
// prints a line per id as the real tools do: success on stdout, failure
// (after an empty line) on stderr; exit 1 if any failed.
func actAll(ctx context.Context, f *cmdutil.Factory, s *session, k actKind, o *actOpts, reason string) int {
	var procs, clusters []string
	for _, id := range o.ids {
		if strings.Contains(id, ".") {
			procs = append(procs, id)
		} else {
			clusters = append(clusters, "ClusterId == "+id)
		}
	}
	// with -constraint, the real tools AND the clusters into it: one request
	anyCluster := strings.Join(clusters, " || ")
	combined := *o
	if o.constraint != "" && len(clusters) > 0 {
		combined.addConstraint(anyCluster)
	}
	var res []htcondor.ActResult
	if len(procs) > 0 {
		if o.constraint != "" || o.all {
			fmt.Fprintln(f.IO.ErrOut, "Warning, -constraint is ignored for fully qualified job ids") // and then acted on, as by the real tools
		}
		var err error
		if res, err = s.c.Act(ctx, k.action, procs, "", reason); err != nil {
			errorf(f, "%v", err)
			return 1
		}
	}
	code := 0
	for _, id := range o.ids {
		if !strings.Contains(id, ".") && (len(clusters) > 1 || o.constraint != "") {
			continue // several clusters, or clusters and -constraint: one constraint, as the real tools send it
		}
		if !actOne(ctx, f, s, k, id, res, reason, code != 0) {
			code = 1
		}
	}
	if len(clusters) > 1 && o.constraint == "" && !actConstraint(ctx, f, s, k, anyCluster, matching(anyCluster), reason, code != 0) {
		code = 1
	}
	if (o.constraint != "" || o.all) && !actBulk(ctx, f, s, k, &combined, reason, code != 0) {
		code = 1
	}
	return code
}

// actBulk acts on -constraint's jobs, or on all with -all (the constraint
// the real tools send for it).
func actBulk(ctx context.Context, f *cmdutil.Factory, s *session, k actKind, o *actOpts, reason string, failed bool) bool {
	if o.all {
		return actConstraint(ctx, f, s, k, "ClusterId >= 0", "", reason, failed)
	}
	return actConstraint(ctx, f, s, k, o.constraint, matching(o.constraint), reason, failed)
}

// matching is how the outcome lines name the jobs constraint selects.
func matching(constraint string) string { return " matching constraint (" + constraint + ")" }

// actConstraint acts on the jobs constraint selects and prints the outcome
// (what: how the lines name them, see printBulkResult); failed says an
// earlier part of the command failed.
func actConstraint(ctx context.Context, f *cmdutil.Factory, s *session, k actKind, constraint, what, reason string, failed bool) bool {
	b, err := s.c.ActBulk(ctx, k.action, constraint, reason)
	if err != nil {
		errorf(f, "%v", err)
		return false
	}
	return printBulkResult(f, k, what, b, failed)
}

// actOne prints the outcome for one id: a job (from res) or a whole
// cluster (its own request).
func actOne(ctx context.Context, f *cmdutil.Factory, s *session, k actKind, id string, res []htcondor.ActResult, reason string, failed bool) bool {
	if strings.Contains(id, ".") {
		for _, r := range res {
			if r.ID == id {
				return printJobResult(f, k, id, r.Code)
			}
		}
		return printJobResult(f, k, id, 2)
	}
	b, err := s.c.ActBulk(ctx, k.action, "ClusterId == "+id, reason)
	if err != nil {
		b = htcondor.Bulk{TotalJobAds: -1}
	}
	return printBulkResult(f, k, " in cluster "+id, b, failed)
}

func printJobResult(f *cmdutil.Factory, k actKind, id string, code int) bool {
	switch code {
	case 1:
		fmt.Fprintf(f.IO.Out, "Job %s %s\n", id, k.done)
		return true
	case 2:
		fmt.Fprintf(f.IO.ErrOut, "\nJob %s not found\n", id)
	case 3:
		fmt.Fprintf(f.IO.ErrOut, "\nJob %s %s\n", id, badStatus(k))
	case 4:
		fmt.Fprintf(f.IO.ErrOut, "\nJob %s already %s\n", id, k.done)
	case 5:
		fmt.Fprintf(f.IO.ErrOut, "\nPermission denied to %s job %s\n", k.verb, id)
	default:
		fmt.Fprintf(f.IO.ErrOut, "\nJob %s could not be %s\n", id, k.done)
	}
	return false
}

func badStatus(k actKind) string {
	switch k.action {
	case htcondor.ActRelease:
		return "not held to be released"
	case htcondor.ActHold:
		return "already held"
	}
	return "already marked for removal"
}

// printBulkResult prints the outcome of a constraint, a cluster or -all
// (what: " matching constraint (X)", " in cluster C", "") as the real tools
// do: success (the schedd did it on at least one job: other users' jobs
// that -all also selects are refused, and jobs already held count as not
// done) on stdout; else, when the schedd holds no job ads at all,
// "TOOL:0:There are no jobs in the queue" on stderr, which is no failure
// (though "Couldn't find/…" follows if an earlier part failed), or an
// empty line and "Couldn't find/…" on stderr.
func printBulkResult(f *cmdutil.Factory, k actKind, what string, b htcondor.Bulk, failed bool) bool {
	if b.Done {
		fmt.Fprintf(f.IO.Out, "All jobs%s %s\n", what, k.have)
		return true
	}
	empty := b.TotalJobAds == 0
	if empty {
		fmt.Fprintf(f.IO.ErrOut, "%s:0:There are no jobs in the queue\n", k.tool)
	} else {
		fmt.Fprintln(f.IO.ErrOut)
	}
	if !empty || failed {
		fmt.Fprintf(f.IO.ErrOut, "Couldn't find/%s all jobs%s\n", k.verb, what)
	}
	return empty
}
