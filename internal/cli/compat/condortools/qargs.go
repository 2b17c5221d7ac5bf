package condortools

import (
	"fmt"
	"strings"
)

// qOpts is condor_q's (and condor_history's) command line.
type qOpts struct {
	target
	ids        []string // C or C.P
	owners     []string
	constraint []string
	allUsers   bool
	long       bool
	json       bool
	nobatch    bool
	totals     bool
	af         *autoformat
	formats    []formatPair
	limit      int
}

// formatPair is one -format FMT ATTR.
type formatPair struct{ fmt, attr string }

func parseQArgs(tool string, list []string) (*qOpts, error) {
	o := &qOpts{}
	a := &args{list: list}
	for {
		arg, ok := a.next()
		if !ok {
			return o, nil
		}
		if err := o.one(a, arg); err != nil {
			return nil, fmt.Errorf("%s: %w", tool, err)
		}
	}
}

// selects reads the arguments that name the schedd and the jobs (ids,
// owners, -name, -pool, -constraint, abbreviated to at least minC letters),
// which condor_q, condor_history and condor_transfer_data share; ok false:
// arg is none of them.
func (o *qOpts) selects(a *args, arg string, minC int) (ok bool, err error) {
	var v string
	switch {
	case !strings.HasPrefix(arg, "-"):
		if isJobID(arg) {
			o.ids = append(o.ids, arg)
		} else {
			o.owners = append(o.owners, arg)
		}
	case isOpt(arg, "name", 1):
		o.name, err = a.value()
	case isOpt(arg, "pool", 1):
		o.pool, err = a.value()
	case isOpt(arg, "constraint", minC):
		v, err = a.value()
		o.constraint = append(o.constraint, v)
	default:
		return false, nil
	}
	return true, err
}

func (o *qOpts) one(a *args, arg string) error {
	ok, err := o.selects(a, arg, 2)
	if ok {
		if err != nil {
			return fmt.Errorf("%s: %v", arg, err)
		}
		return nil
	}
	var v string
	switch {
	case isOpt(arg, "allusers", 2):
		o.allUsers = true
	case isOpt(arg, "long", 1):
		o.long = true
	case isOpt(arg, "json", 1):
		o.json = true
	case isOpt(arg, "nobatch", 3):
		o.nobatch = true
	case isOpt(arg, "batch", 3), isOpt(arg, "wide", 1):
	case isOpt(arg, "totals", 3):
		o.totals = true
	case isOpt(arg, "limit", 3), isOpt(arg, "match", 3):
		v, err = a.value()
		if err == nil {
			_, err = fmt.Sscan(v, &o.limit)
		}
	case isOpt(arg, "af", 2), isOpt(arg, "autoformat", 2):
		o.af = &autoformat{mods: optMods(arg)}
		o.af.attrs = a.rest()
	case isOpt(arg, "format", 1):
		var f, at string
		if f, err = a.value(); err == nil {
			at, err = a.value()
		}
		o.formats = append(o.formats, formatPair{unescape(f), at})
	default:
		return fmt.Errorf("unknown or unsupported option %s", arg)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", arg, err)
	}
	return nil
}

// rest takes the arguments up to the next option (-af's attributes).
func (a *args) rest() []string {
	var out []string
	for a.i < len(a.list) && !(strings.HasPrefix(a.list[a.i], "-") && len(a.list[a.i]) > 1) {
		out = append(out, a.list[a.i])
		a.i++
	}
	return out
}

// constraintExpr is the query: the ids and owners given (or, with none and
// no -allusers, owner's jobs), and every -constraint.
func (o *qOpts) constraintExpr(owner string) string {
	var any []string
	for _, id := range o.ids {
		c, p, hasP := strings.Cut(id, ".")
		if hasP {
			any = append(any, fmt.Sprintf("(ClusterId == %s && ProcId == %s)", c, p))
		} else {
			any = append(any, "ClusterId == "+c)
		}
	}
	for _, u := range o.owners {
		any = append(any, "Owner == "+quote(u))
	}
	if len(any) == 0 && o.mine() && owner != "" {
		any = append(any, "Owner == "+quote(owner))
	}
	var all []string
	if len(any) > 0 {
		all = append(all, "("+strings.Join(any, " || ")+")")
	}
	for _, c := range o.constraint {
		all = append(all, "("+c+")")
	}
	if len(all) == 0 {
		return "true"
	}
	return strings.Join(all, " && ")
}

// mine: condor_q shows only the user's own jobs unless told otherwise.
func (o *qOpts) mine() bool {
	return !o.allUsers && len(o.ids) == 0 && len(o.owners) == 0
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// unescape reads the backslash escapes of a -format string.
func unescape(s string) string {
	r := strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`)
	return r.Replace(s)
}
