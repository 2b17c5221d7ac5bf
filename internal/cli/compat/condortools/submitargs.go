package condortools

import (
	"fmt"
	"io"
	"strings"
)

// submitOpts is condor_submit's command line.
type submitOpts struct {
	target
	dryRun    string // -dry-run FILE ("-": stdout); "" not a dry run
	queue     string // -queue ARGS
	appends   []string
	batchName string
	terse     bool
	vars      map[string]string // NAME=VALUE
	file      string            // "" or "-": stdin
	hasFile   bool
}

// parseSubmitArgs reads condor_submit's options (abbreviations as the real
// tool takes them: -r, -n, -p, -a, -q, -terse, -dry…).
func parseSubmitArgs(list []string) (*submitOpts, error) {
	o := &submitOpts{vars: map[string]string{}}
	a := &args{list: list}
	for {
		arg, ok := a.next()
		if !ok {
			return o, nil
		}
		if err := o.one(a, arg); err != nil {
			return nil, err
		}
	}
}

func (o *submitOpts) one(a *args, arg string) error {
	var err error
	switch {
	case arg == "-" || !strings.HasPrefix(arg, "-"):
		return o.operand(arg)
	case isOpt(arg, "remote", 1):
		o.name, err = a.value()
	case isOpt(arg, "name", 1):
		o.name, err = a.value()
	case isOpt(arg, "pool", 1):
		o.pool, err = a.value()
	case isOpt(arg, "spool", 2):
	case isOpt(arg, "dry-run", 3):
		o.dryRun, err = a.value()
	case isOpt(arg, "queue", 1): // the rest of the line is the queue statement's arguments
		o.queue = strings.Join(a.list[a.i:], " ")
		a.i = len(a.list)
	case isOpt(arg, "append", 1):
		var v string
		v, err = a.value()
		o.appends = append(o.appends, v)
	case isOpt(arg, "batch-name", 2):
		o.batchName, err = a.value()
	case isOpt(arg, "terse", 3):
		o.terse = true
	case isOpt(arg, "verbose", 1), isOpt(arg, "debug", 2), isOpt(arg, "disable", 2):
	default:
		return fmt.Errorf("Unknown option %s", arg)
	}
	if err != nil {
		return fmt.Errorf("%s requires another argument", arg)
	}
	return nil
}

// operand is a NAME=VALUE assignment or the submit file.
func (o *submitOpts) operand(arg string) error {
	if k, v, ok := strings.Cut(arg, "="); ok && arg != "-" && !strings.ContainsAny(k, "/ ") && k != "" {
		o.vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
		return nil
	}
	if o.hasFile {
		return fmt.Errorf("Only one submit file may be given (%s and %s)", o.file, arg)
	}
	o.file, o.hasFile = arg, true
	return nil
}

// withAppends puts the -append lines (and -batch-name) where condor_submit
// takes them: just before the file's first queue statement (at the end if
// it has none, for -queue).
func withAppends(src string, o *submitOpts) string {
	lines := append([]string(nil), o.appends...)
	if o.batchName != "" {
		lines = append(lines, "batch_name = "+o.batchName)
	}
	if len(lines) == 0 {
		return src
	}
	add := strings.Join(lines, "\n") + "\n"
	all := strings.SplitAfter(src, "\n")
	for i, l := range all {
		if isQueueLine(l) {
			return strings.Join(all[:i], "") + add + strings.Join(all[i:], "")
		}
	}
	if src != "" && !strings.HasSuffix(src, "\n") {
		src += "\n"
	}
	return src + add
}

func isQueueLine(l string) bool {
	f := strings.Fields(strings.ToLower(l))
	return len(f) > 0 && f[0] == "queue"
}

// inlineStdinItems turns `queue … from -` into `queue … from ( … )` with
// the items read from stdin, so that whoever reads the file again (the
// HTCondor backend expands it with the real cluster id) has them.
func inlineStdinItems(src string, stdin io.Reader) (string, error) {
	all := strings.SplitAfter(src, "\n")
	for i, l := range all {
		f := strings.Fields(l)
		if !isQueueLine(l) || len(f) < 3 || f[len(f)-1] != "-" || !strings.EqualFold(f[len(f)-2], "from") {
			continue
		}
		items, err := io.ReadAll(stdin)
		if err != nil {
			return "", fmt.Errorf("queue from -: %w", err)
		}
		head := strings.TrimRight(strings.TrimRight(l, "\r\n"), " \t")
		body := strings.TrimRight(string(items), "\n")
		all[i] = head[:len(head)-1] + "(\n" + body + "\n)\n"
		return strings.Join(all, ""), nil
	}
	return src, nil
}
