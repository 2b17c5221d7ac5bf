package broker

import (
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// software is a runtime environment as ARC compares them: the name and
// the version, split at the first dash followed by a digit
// ("APPS/HEP/ATLAS-20.1.0" is APPS/HEP/ATLAS, version 20.1.0).
type software struct {
	name, version string
	tokens        []string // the version cut at '-' and '.'
}

func parseSoftware(s string) software {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && s[i+1] >= '0' && s[i+1] <= '9' {
			v := s[i+1:]
			return software{name: s[:i], version: v, tokens: strings.FieldsFunc(v, func(r rune) bool { return r == '-' || r == '.' })}
		}
	}
	return software{name: s}
}

func (a software) equal(b software) bool { return a.name == b.name && a.version == b.version }

// greater is ARC's Software::operator>: same name, a has a version and b
// none or a lower one (numeric parts compared as numbers; a part that is
// not a number makes it false; extra non-zero numeric parts make a greater).
func (a software) greater(b software) bool {
	if a.name != b.name || a.version == "" || a.version == b.version {
		return false
	}
	if b.version == "" {
		return true
	}
	i := 0
	for ; i < len(a.tokens) && i < len(b.tokens); i++ {
		if a.tokens[i] == b.tokens[i] {
			continue
		}
		x, errA := strconv.Atoi(a.tokens[i])
		y, errB := strconv.Atoi(b.tokens[i])
		if errA != nil || errB != nil || x < y {
			return false
		}
		if x > y {
			return true
		}
	}
	for ; i < len(a.tokens); i++ {
		x, err := strconv.Atoi(a.tokens[i])
		if err != nil {
			return false
		}
		if x != 0 {
			return true
		}
	}
	return false
}

// satisfied is ARC's SoftwareRequirement check for one requirement: some
// published environment stands in the relation to it (published OP
// required); for != none may equal it.
func satisfied(req jobdesc.Software, have []software) bool {
	r := parseSoftware(req.Name)
	op := req.Relation
	if op == "!=" {
		for _, h := range have {
			if h.equal(r) {
				return false
			}
		}
		return true
	}
	for _, h := range have {
		var ok bool
		switch op {
		case ">":
			ok = h.greater(r)
		case "<":
			ok = r.greater(h)
		case ">=":
			ok = h.equal(r) || h.greater(r)
		case "<=":
			ok = h.equal(r) || r.greater(h)
		default:
			ok = h.equal(r)
		}
		if ok {
			return true
		}
	}
	return false
}
