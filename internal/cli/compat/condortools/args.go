package condortools

import (
	"errors"
	"strings"
)

// args walks an HTCondor tool's command line: options start with one or
// two dashes and may be abbreviated (HTCondor's is_dash_arg_prefix: at
// least min characters of the name).
type args struct {
	list []string
	i    int
}

// next returns the next argument, or false at the end.
func (a *args) next() (string, bool) {
	if a.i >= len(a.list) {
		return "", false
	}
	a.i++
	return a.list[a.i-1], true
}

var errNoValue = errors.New("needs a value")

// value returns the argument after the current option.
func (a *args) value() (string, error) {
	v, ok := a.next()
	if !ok {
		return "", errNoValue
	}
	return v, nil
}

// isOpt reports whether arg is option name abbreviated to at least min
// characters; a suffix after ':' (-af:jh) is ignored here (see optMods).
func isOpt(arg, name string, min int) bool {
	if !strings.HasPrefix(arg, "-") || arg == "-" {
		return false
	}
	s := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	s, _, _ = strings.Cut(s, ":")
	s = strings.ToLower(s)
	return len(s) >= min && len(s) <= len(name) && strings.HasPrefix(name, s)
}

// optMods is what follows ':' in an option (-af:jh → "jh").
func optMods(arg string) string {
	_, m, _ := strings.Cut(arg, ":")
	return m
}
