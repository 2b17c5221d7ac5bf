package condortools

import (
	"context"
	"fmt"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/ce/htcondor"
)

// pingOpts is condor_ping's command line.
type pingOpts struct {
	target
	table, verbose, quiet bool
	levels                []string
}

func parsePingArgs(list []string) (*pingOpts, error) {
	o := &pingOpts{}
	a := &args{list: list}
	for {
		arg, ok := a.next()
		if !ok {
			break
		}
		var err error
		switch {
		case !strings.HasPrefix(arg, "-"):
			o.levels = append(o.levels, strings.ToUpper(arg))
		case isOpt(arg, "name", 1):
			o.name, err = a.value()
		case isOpt(arg, "pool", 1):
			o.pool, err = a.value()
		case isOpt(arg, "type", 2):
			_, err = a.value() // the CE's schedd is what cesub asks
		case isOpt(arg, "table", 2):
			o.table = true
		case isOpt(arg, "verbose", 1):
			o.verbose = true
		case isOpt(arg, "quiet", 1):
			o.quiet = true
		default:
			return nil, fmt.Errorf("ERROR: unknown option %s", arg)
		}
		if err != nil {
			return nil, fmt.Errorf("ERROR: %s needs a value", arg)
		}
	}
	if len(o.levels) == 0 {
		o.levels = []string{"WRITE"}
	}
	return o, nil
}

// runPing is condor_ping against the CE's schedd: exit 0 when every level
// asked is allowed, 1 otherwise.
func runPing(ctx context.Context, f *cmdutil.Factory, list []string) int {
	o, err := parsePingArgs(list)
	if err != nil {
		fmt.Fprintln(f.IO.ErrOut, err)
		return 1
	}
	s, ok := connect(ctx, f, o.target)
	if !ok {
		return 1
	}
	defer s.close()
	if o.table {
		fmt.Fprintf(f.IO.Out, "%20s %14s %10s %9s %8s %s\n", "Instruction", "Authentication", "Encryption", "Integrity", "Decision", "Identity")
	}
	code := 0
	for _, lv := range o.levels {
		a := s.c.PingLevel(ctx, lv)
		if a.Verdict != "ALLOW" {
			code = 1
		}
		if !o.quiet {
			printPing(f, o, s, a)
		}
	}
	return code
}

func printPing(f *cmdutil.Factory, o *pingOpts, s *session, a htcondor.LevelAnswer) {
	w := f.IO.Out
	ok := a.Verdict == "ALLOW"
	switch {
	case o.table && ok:
		fmt.Fprintf(w, "%20s %14s %10s %9s %8s %s\n", a.Level, a.Method, a.Crypto, a.Crypto, a.Verdict, a.User)
	case o.table:
		fmt.Fprintf(w, "%20s %14s %10s %9s %8s %s\n", a.Level, "FAIL", "FAIL", "FAIL", "FAIL", "FAIL  (use -verbose for more info)")
	case ok:
		fmt.Fprintf(w, "%s command using (%s, %s, and %s) succeeded as %s to schedd %s.\n", a.Level, a.Crypto, a.Crypto, a.Method, a.User, s.addr.Host)
	default:
		fmt.Fprintf(w, "%s failed!  Use -verbose for more information.\n", a.Level)
	}
	if o.verbose && a.Err != nil {
		fmt.Fprintf(f.IO.ErrOut, "%s: %v\n", a.Level, a.Err)
	}
}
