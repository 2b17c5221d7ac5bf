package submitfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Templates are submit templates by upper-cased name: what `use template :
// NAME(args)` brings in. HTCondor ships none; sites define them in the
// HTCondor configuration (SUBMIT_TEMPLATE_NAMES and SUBMIT_TEMPLATE_<Name>),
// which ReadCondorConfig reads.
type Templates map[string]string

// strictKnobs are condor_submit's built-in `use strict :` knobs.
var strictKnobs = map[string]string{
	"FALSE": "SubmitWarnEmptyMatches=false\nSubmitFailEmptyMatches=false\nSubmitWarnDuplicateMatches=false\nSubmitFailEmptyFields=false\nSubmitWarnEmptyFields=false",
	"TRUE":  "SubmitWarnEmptyMatches=true\nSubmitFailEmptyMatches=true\nSubmitWarnDuplicateMatches=true\nSubmitFailEmptyFields=false\nSubmitWarnEmptyFields=true",
	"HARSH": "SubmitWarnEmptyMatches=true\nSubmitFailEmptyMatches=true\nSubmitWarnDuplicateMatches=true\nSubmitFailEmptyFields=true\nSubmitWarnEmptyFields=true",
}

// maxTemplateDepth bounds templates that use templates.
const maxTemplateDepth = 20

// knobCall is one NAME or NAME(args) of a `use` line.
type knobCall struct {
	name    string
	args    string
	hasArgs bool
}

// splitKnobs reads "A, B(x, y), C" (commas inside parentheses belong to
// the arguments).
func splitKnobs(s string) ([]knobCall, error) {
	var out []knobCall
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		i := strings.IndexAny(s, ",(")
		if i < 0 {
			out = append(out, knobCall{name: strings.TrimSpace(s)})
			break
		}
		k := knobCall{name: strings.TrimSpace(s[:i])}
		if s[i] == '(' {
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j == len(s) {
				return nil, fmt.Errorf("%q: '(' is not closed", s)
			}
			k.args, k.hasArgs = s[i+1:j], true
			s = strings.TrimSpace(s[j+1:])
			if s != "" && s[0] != ',' {
				return nil, fmt.Errorf("expected ',' after %s(…), found %q", k.name, clip(s))
			}
			s = strings.TrimPrefix(s, ",")
		} else {
			s = s[i+1:]
		}
		if k.name == "" {
			return nil, fmt.Errorf("empty name in the list")
		}
		out = append(out, k)
	}
	return out, nil
}

// expandMetaArgs replaces a template's $(N) argument references as
// condor_submit does before reading it: $(0) all the arguments, $(N) the
// Nth (comma separated, trimmed), $(N?) 1 or 0 as the Nth is given and
// not empty, $(N+) the Nth and all after it, $(0#) how many there are, and
// $(N:default) a default for a missing one. Other macros are left for later.
func expandMetaArgs(body, argstr string) string {
	var args []string
	for _, a := range strings.Split(argstr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			args = append(args, a)
		}
	}
	var b strings.Builder
	for {
		i := strings.Index(body, "$(")
		if i < 0 || i+2 >= len(body) {
			b.WriteString(body)
			return b.String()
		}
		j := i + 2
		k := j
		for k < len(body) && body[k] >= '0' && body[k] <= '9' {
			k++
		}
		end := strings.IndexByte(body[j:], ')')
		if k == j || end < 0 || k > j+end {
			b.WriteString(body[:i+2])
			body = body[i+2:]
			continue
		}
		end += j
		// a default may hold macros with parentheses of its own: find the matching ')'
		depth := 1
		for end = k; end < len(body); end++ {
			if body[end] == '(' {
				depth++
			} else if body[end] == ')' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if end == len(body) {
			b.WriteString(body)
			return b.String()
		}
		n, _ := strconv.Atoi(body[j:k])
		spec := body[k:end]
		check, rest := false, false
		switch {
		case strings.HasPrefix(spec, "?"):
			check, spec = true, spec[1:]
		case strings.HasPrefix(spec, "+"), strings.HasPrefix(spec, "#"):
			rest, spec = true, spec[1:]
		}
		def, hasDef := strings.CutPrefix(spec, ":")
		var v string
		switch {
		case n == 0 && rest:
			v = strconv.Itoa(len(args))
		case n == 0:
			v = strings.TrimSpace(argstr)
		case rest && n <= len(args):
			v = strings.Join(args[n-1:], ", ")
		case !rest && n <= len(args):
			v = args[n-1]
		}
		if v == "" && hasDef {
			v = def
		}
		if check {
			v = "0"
			if n == 0 && len(args) > 0 || n > 0 && n <= len(args) {
				v = "1"
			}
		}
		b.WriteString(body[:i])
		b.WriteString(strings.TrimSpace(v))
		body = body[end+1:]
	}
}

// use handles `use CATEGORY : KNOB[(args)], …` (condor_submit knows the
// categories template and strict).
func (r *reader) use(pos Pos, rest string) error {
	cat, list, ok := strings.Cut(rest, ":")
	cat = strings.TrimSpace(cat)
	if !ok || cat == "" {
		return &Error{Pos: pos, Msg: "use needs 'CATEGORY : NAME', e.g. 'use template : Name(args)'"}
	}
	calls, err := splitKnobs(list)
	if err != nil {
		return &Error{Pos: pos, Msg: "use " + cat + ": " + err.Error()}
	}
	if len(calls) == 0 {
		return &Error{Pos: pos, Msg: "use " + cat + ": no name given"}
	}
	for _, c := range calls {
		var body string
		switch strings.ToUpper(cat) {
		case "STRICT":
			body, ok = strictKnobs[strings.ToUpper(c.name)]
			if !ok {
				return &Error{Pos: pos, Msg: fmt.Sprintf("use %s: does not recognise %s (want true, false or harsh)", cat, c.name)}
			}
		case "TEMPLATE":
			body, ok = r.opts.Templates[strings.ToUpper(c.name)]
			if !ok {
				msg := fmt.Sprintf("use %s: does not recognise %s", cat, c.name)
				if len(r.opts.Templates) == 0 {
					msg += " (no submit templates are defined: sites define them with SUBMIT_TEMPLATE_NAMES and SUBMIT_TEMPLATE_<Name> in the HTCondor configuration, see --condor-config)"
				} else {
					msg += " (defined: " + strings.Join(r.opts.Templates.names(), ", ") + ")"
				}
				return &Error{Pos: pos, Msg: msg}
			}
		default:
			return &Error{Pos: pos, Msg: fmt.Sprintf("use %s: unknown category (condor_submit knows template and strict)", cat)}
		}
		if r.templateDepth >= maxTemplateDepth {
			return &Error{Pos: pos, Msg: fmt.Sprintf("use %s: %s: templates nested deeper than %d", cat, c.name, maxTemplateDepth)}
		}
		if c.hasArgs || strings.Contains(body, "$(") {
			body = expandMetaArgs(body, c.args)
		}
		r.templateDepth++
		err := r.read(fmt.Sprintf("%s (%s:%s)", pos, strings.ToLower(cat), c.name), []byte(body))
		r.templateDepth--
		if err != nil {
			if _, ok := err.(*Error); ok {
				return err
			}
			return &Error{Pos: pos, Msg: err.Error()}
		}
	}
	return nil
}

func (t Templates) names() []string {
	out := make([]string, 0, len(t))
	for n := range t {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CondorConfigFiles lists the HTCondor configuration files condor_submit
// would read, in order: $CONDOR_CONFIG (else /etc/condor/condor_config),
// its LOCAL_CONFIG_DIR (default config.d beside it) and LOCAL_CONFIG_FILE,
// then ~/.condor/user_config. Files that do not exist are left out.
func CondorConfigFiles(getenv func(string) string) []string {
	main := getenv("CONDOR_CONFIG")
	if main == "" {
		main = "/etc/condor/condor_config"
	}
	var out []string
	add := func(p string) {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	add(main)
	vars := map[string]string{}
	if b, err := os.ReadFile(main); err == nil {
		vars = readConfigVars(string(b), vars, nil)
	}
	dir := vars["LOCAL_CONFIG_DIR"]
	if dir == "" {
		dir = filepath.Join(filepath.Dir(main), "config.d")
	}
	for _, d := range strings.FieldsFunc(dir, func(r rune) bool { return r == ',' || r == ' ' }) {
		entries, _ := os.ReadDir(d)
		for _, e := range entries { // sorted by name, as HTCondor reads them
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), "~") {
				add(filepath.Join(d, e.Name()))
			}
		}
	}
	for _, f := range strings.FieldsFunc(vars["LOCAL_CONFIG_FILE"], func(r rune) bool { return r == ',' || r == ' ' }) {
		add(f)
	}
	if home := getenv("HOME"); home != "" {
		add(filepath.Join(home, ".condor", "user_config"))
	}
	return out
}

// ReadCondorConfig reads the submit templates the files define, later
// files overriding earlier ones as HTCondor does, following `include : FILE`
// (and `include ifexist : FILE`). Only SUBMIT_TEMPLATE_NAMES (which may
// append to itself with $(SUBMIT_TEMPLATE_NAMES)), SUBMIT_TEMPLATE_<Name>
// and the LOCAL_CONFIG_* settings are read; every other line is skipped.
func ReadCondorConfig(files []string) (Templates, error) {
	vars := map[string]string{}
	var readFile func(f string, depth int, mustExist bool) error
	readFile = func(f string, depth int, mustExist bool) error {
		if depth > maxIncludeDepth {
			return fmt.Errorf("HTCondor configuration: includes nested deeper than %d at %s", maxIncludeDepth, f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			if !mustExist && os.IsNotExist(err) {
				return nil
			}
			return fmt.Errorf("HTCondor configuration: %w", err)
		}
		var err2 error
		vars = readConfigVars(string(b), vars, func(path string, ifExist bool) {
			if err2 != nil {
				return
			}
			if !filepath.IsAbs(path) {
				path = filepath.Join(filepath.Dir(f), path)
			}
			err2 = readFile(path, depth+1, !ifExist)
		})
		return err2
	}
	for _, f := range files {
		if err := readFile(f, 0, true); err != nil {
			return nil, err
		}
	}
	t := Templates{}
	for _, n := range strings.FieldsFunc(vars["SUBMIT_TEMPLATE_NAMES"], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if body, ok := vars["SUBMIT_TEMPLATE_"+strings.ToUpper(n)]; ok {
			t[strings.ToUpper(n)] = body
		}
	}
	return t, nil
}

// readConfigVars reads the settings ReadCondorConfig wants from one file
// (names upper-cased), `NAME = value` and `NAME @=tag … @tag`; include,
// if set, is called where the file says `include [ifexist] : PATH`.
func readConfigVars(text string, vars map[string]string, include func(path string, ifExist bool)) map[string]string {
	wanted := func(n string) bool {
		return strings.HasPrefix(n, "SUBMIT_TEMPLATE_") || n == "LOCAL_CONFIG_DIR" || n == "LOCAL_CONFIG_FILE"
	}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) { // continuation
			i++
			line = strings.TrimSuffix(line, "\\") + strings.TrimSpace(lines[i])
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if w := strings.ToLower(line); strings.HasPrefix(w, "include") && !strings.Contains(line[:strings.IndexByte(line+"=", '=')], "@") {
			if head, path, ok := strings.Cut(line, ":"); ok && !strings.Contains(head, "=") {
				mod := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.ToLower(head), "include")))
				path = strings.TrimSpace(path)
				if include != nil && (mod == "" || mod == "ifexist") && path != "" && !strings.HasSuffix(path, "|") {
					include(path, mod == "ifexist")
				}
				continue
			}
		}
		if k, tag, ok := strings.Cut(line, "@="); ok && !strings.Contains(k, "=") {
			name, tag := strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(tag)
			var body []string
			for i++; i < len(lines); i++ {
				if strings.TrimSpace(lines[i]) == "@"+tag {
					break
				}
				body = append(body, strings.TrimRight(lines[i], "\r"))
			}
			if wanted(name) {
				vars[name] = strings.Join(body, "\n")
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		name := strings.ToUpper(strings.TrimSpace(k))
		if !ok || !wanted(name) {
			continue
		}
		v = strings.TrimSpace(v)
		// the self-reference that appends (NAMES = $(NAMES) More)
		for _, ref := range []string{"$(" + name + ")", "$(" + strings.ToLower(name) + ")"} {
			v = strings.ReplaceAll(v, ref, vars[name])
		}
		if strings.Contains(strings.ToUpper(v), "$("+name+")") {
			v = strings.ReplaceAll(strings.ToUpper(v), "$("+name+")", vars[name])
		}
		vars[name] = strings.TrimSpace(v)
	}
	return vars
}
