// Package arccheck evaluates the assertions of ARC's own parser tests, as
// transcribed in the shared corpus (C++ expressions such as
// `OUTJOBS.front().Resources.QueueName`), against cesub's job model. It
// renders jobs in the shape of ARC's JobDescription and interprets the small
// C++ subset those tests use: member chains, front/back/size/empty, Option(),
// str(), GetAlternatives/UseAlternative, list iterators and map finds. Test
// support only.
package arccheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// Check is one transcribed assertion.
type Check struct {
	Expr   string          `json:"expr"`
	Equals json.RawMessage `json:"equals"`
	True   *bool           `json:"true"`
	Step   string          `json:"step"`
}

// Env evaluates checks in order (steps change it).
type Env struct {
	jobs   []*jobView
	vars   map[string]any
	iters  map[string]*iter
	finds  map[string]*find
	loaded bool
}

type jobView struct {
	base   jobdesc.Job
	active int // 0 = the job itself, i = alternative i-1
}

func (v *jobView) current() jobdesc.Job {
	if v.active == 0 {
		return v.base
	}
	return v.base.Alternatives[v.active-1]
}

type iter struct {
	list []any
	i    int
}

type find struct {
	found bool
	value string
}

// New returns an environment where OUTJOBS and tempJobDescs are jobs.
func New(jobs []jobdesc.Job) *Env {
	e := &Env{vars: map[string]any{}, iters: map[string]*iter{}, finds: map[string]*find{}}
	for _, j := range jobs {
		e.jobs = append(e.jobs, &jobView{base: j})
	}
	return e
}

var (
	reIterDecl  = regexp.MustCompile(`^std::list<[^>]+>::const_iterator (\w+) = (.+)\.begin\(\)$`)
	reIterSet   = regexp.MustCompile(`^(\w+) = (.+)\.begin\(\)$`)
	reMapDecl   = regexp.MustCompile(`^std::map<[^>]+>::const_iterator (\w+)$`)
	reMapFind   = regexp.MustCompile(`^(\w+) = (.+)\.OtherAttributes\.find\("([^"]*)"\)$`)
	reAlias     = regexp.MustCompile(`^const std::list<[^>]+>&? (\w+) = (.+)$`)
	reEndCmp    = regexp.MustCompile(`^(.+)\.end\(\) (!=|==) \+\+(\w+)$`)
	reMapEndCmp = regexp.MustCompile(`^(.+)\.OtherAttributes\.end\(\) (!=|==) (\w+)$`)
)

// Run applies one check; it returns a description of a failure, or "".
func (e *Env) Run(c Check) string {
	if c.Step != "" {
		return e.step(c.Step)
	}
	got, err := e.eval(strings.TrimSpace(c.Expr))
	if err != nil {
		return fmt.Sprintf("%s: %v", c.Expr, err)
	}
	if c.True != nil {
		if _, isNode := got.(xmlNode); isNode {
			got = true
		}
		b, ok := got.(bool)
		if !ok {
			return fmt.Sprintf("%s: not a boolean: %#v", c.Expr, got)
		}
		if b != *c.True {
			return fmt.Sprintf("%s = %v, want %v", c.Expr, b, *c.True)
		}
		return ""
	}
	want, err := decodeWant(c.Equals)
	if err != nil {
		return fmt.Sprintf("%s: %v", c.Expr, err)
	}
	if !equal(got, want) {
		return fmt.Sprintf("%s = %#v, want %#v", c.Expr, got, want)
	}
	return ""
}

var reCppURL = regexp.MustCompile(`^Arc::(?:URL|SourceType|TargetType)\("([^"]*)"\)$`)

func decodeWant(raw json.RawMessage) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		if cpp, ok := m["cpp"].(string); ok {
			if mm := reCppURL.FindStringSubmatch(cpp); mm != nil {
				return normURL(mm[1]), nil
			}
			if strings.HasPrefix(cpp, "Arc::SlotRequirementType::") {
				return strings.TrimPrefix(cpp, "Arc::SlotRequirementType::"), nil
			}
			return nil, fmt.Errorf("unsupported expected value %s", cpp)
		}
	}
	return v, nil
}

func equal(got, want any) bool {
	if m, ok := got.(map[string]any); ok {
		if u, ok := m["_url"]; ok {
			got = u
		}
	}
	switch w := want.(type) {
	case float64:
		switch g := got.(type) {
		case int:
			return float64(g) == w
		case int64:
			return float64(g) == w
		case float64:
			return g == w
		}
		return false
	case nil:
		return got == nil
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func (e *Env) step(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "CPPUNIT_") || s == "std::list<Arc::JobDescription> tempJobDescs":
		return ""
	case reMapDecl.MatchString(s):
		e.finds[reMapDecl.FindStringSubmatch(s)[1]] = &find{}
		return ""
	case reIterDecl.MatchString(s) || reIterSet.MatchString(s):
		m := reIterDecl.FindStringSubmatch(s)
		if m == nil {
			m = reIterSet.FindStringSubmatch(s)
		}
		v, err := e.eval(m[2])
		if err != nil {
			return s + ": " + err.Error()
		}
		l, ok := v.([]any)
		if !ok {
			return s + ": not a list"
		}
		e.iters[m[1]] = &iter{list: l}
		return ""
	case reMapFind.MatchString(s):
		m := reMapFind.FindStringSubmatch(s)
		v, err := e.eval(m[2])
		if err != nil {
			return s + ": " + err.Error()
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return s + ": not a job"
		}
		other, _ := obj["OtherAttributes"].(map[string]string)
		val, found := other[m[3]]
		e.finds[m[1]] = &find{found: found, value: val}
		return ""
	case reAlias.MatchString(s):
		m := reAlias.FindStringSubmatch(s)
		v, err := e.eval(m[2])
		if err != nil {
			return s + ": " + err.Error()
		}
		e.vars[m[1]] = v
		return ""
	}
	if _, err := e.eval(s); err != nil {
		return s + ": " + err.Error()
	}
	return ""
}

func (e *Env) eval(expr string) (any, error) {
	if m := reEndCmp.FindStringSubmatch(expr); m != nil {
		it := e.iters[m[3]]
		if it == nil {
			return nil, fmt.Errorf("no iterator %s", m[3])
		}
		it.i++
		atEnd := it.i >= len(it.list)
		if m[2] == "==" {
			return atEnd, nil
		}
		return !atEnd, nil
	}
	if m := reMapEndCmp.FindStringSubmatch(expr); m != nil {
		f := e.finds[m[3]]
		if f == nil {
			return nil, fmt.Errorf("no map iterator %s", m[3])
		}
		if m[2] == "==" {
			return !f.found, nil
		}
		return f.found, nil
	}
	if strings.HasPrefix(expr, "*") {
		name := strings.TrimSuffix(expr[1:], "++")
		it := e.iters[name]
		if it == nil || it.i >= len(it.list) {
			return nil, fmt.Errorf("iterator %s exhausted", name)
		}
		v := it.list[it.i]
		if strings.HasSuffix(expr, "++") {
			it.i++
		}
		return v, nil
	}
	if name, field, ok := strings.Cut(expr, "->"); ok {
		if f := e.finds[name]; f != nil && field == "second" {
			return f.value, nil
		}
		it := e.iters[name]
		if it == nil || it.i >= len(it.list) {
			return nil, fmt.Errorf("iterator %s not valid", name)
		}
		return e.member(it.list[it.i], field)
	}
	toks, err := splitChain(expr)
	if err != nil {
		return nil, err
	}
	var cur any
	switch toks[0] {
	case "OUTJOBS", "tempJobDescs":
		l := make([]any, len(e.jobs))
		for i, j := range e.jobs {
			l[i] = j
		}
		cur = l
	default:
		v, ok := e.vars[toks[0]]
		if !ok {
			return nil, fmt.Errorf("unknown name %s", toks[0])
		}
		cur = v
	}
	for _, t := range toks[1:] {
		cur, err = e.apply(cur, t)
		if err != nil {
			return nil, fmt.Errorf("at %s: %w", t, err)
		}
	}
	if jv, ok := cur.(*jobView); ok {
		return view(jv.current()), nil
	}
	return cur, nil
}

// splitChain splits a.b().c("x") into ["a", "b()", "c(\"x\")"].
func splitChain(s string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	inQ := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQ = !inQ
		case inQ:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '.' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	out = append(out, s[start:])
	if depth != 0 || inQ {
		return nil, fmt.Errorf("unbalanced expression %q", s)
	}
	return out, nil
}

func (e *Env) apply(cur any, tok string) (any, error) {
	if jv, ok := cur.(*jobView); ok {
		switch tok {
		case "UseAlternative()":
			if jv.active < len(jv.base.Alternatives) {
				jv.active++
				return true, nil
			}
			return false, nil
		case "UseOriginal()":
			jv.active = 0
			return true, nil
		case "GetAlternatives()":
			l := make([]any, len(jv.base.Alternatives))
			for i, a := range jv.base.Alternatives {
				l[i] = view(a)
			}
			return l, nil
		}
		cur = view(jv.current())
	}
	switch {
	case tok == "front()" || tok == "back()":
		l, ok := cur.([]any)
		if !ok || len(l) == 0 {
			return nil, fmt.Errorf("%s of an empty or non-list value", tok)
		}
		if tok == "front()" {
			return l[0], nil
		}
		return l[len(l)-1], nil
	case tok == "size()" || tok == "Size()":
		switch v := cur.(type) {
		case []any:
			return len(v), nil
		case xmlNode:
			return v.size, nil
		}
		return nil, fmt.Errorf("size() of %T", cur)
	case tok == "empty()":
		l, _ := cur.([]any)
		return len(l) == 0, nil
	case strings.HasPrefix(tok, "Option(\""):
		name := strings.TrimSuffix(strings.TrimPrefix(tok, "Option(\""), "\")")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Option on %T", cur)
		}
		opts, _ := m["_options"].([]jobdesc.Attr)
		return jobdesc.Lookup(opts, name), nil
	case tok == "str()":
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("str on %T", cur)
		}
		return m["_url"], nil
	case tok == "Name()":
		if x, ok := cur.(xmlNode); ok {
			return x.name, nil
		}
	case tok == "Child()":
		if x, ok := cur.(xmlNode); ok {
			return xmlNode{name: x.child}, nil
		}
	}
	return e.member(cur, strings.TrimSuffix(tok, "()"))
}

func (e *Env) member(cur any, name string) (any, error) {
	switch v := cur.(type) {
	case map[string]any:
		if name == "Locations" {
			return v["Locations"], nil
		}
		x, ok := v[name]
		if !ok {
			return nil, fmt.Errorf("no member %s", name)
		}
		if p, ok := x.(map[string]any); ok && name != "Application" {
			if u, ok := p["_url"]; ok && len(p) == 1 {
				return u, nil
			}
		}
		return x, nil
	case xmlNode:
		return nil, fmt.Errorf("member %s of an XML node", name)
	}
	return nil, fmt.Errorf("member %s of %T", name, cur)
}

type xmlNode struct {
	name, child string
	size        int
}

func secs(d time.Duration) int64 {
	if d == 0 {
		return -1
	}
	return int64(d / time.Second)
}

func orMinus(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// defaultPorts are the ports ARC's URL::str() adds when a URL has none.
var defaultPorts = map[string]string{"gsiftp": "2811", "http": "80", "https": "443", "ftp": "21", "ldap": "389",
	"srm": "8443", "root": "1094", "lfc": "5010", "rls": "39281"}

func normURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	host, path, _ := strings.Cut(rest, "/")
	if p, ok := defaultPorts[scheme]; ok && !strings.Contains(host, ":") && host != "" {
		host += ":" + p
	}
	if path == "" {
		return scheme + "://" + host + "/"
	}
	return scheme + "://" + host + "/" + path
}

func loc(l jobdesc.Location) map[string]any {
	m := map[string]any{"_url": normURL(l.URL), "_options": l.Options, "DelegationID": l.DelegationID}
	var locs []any
	for _, x := range l.Locations {
		locs = append(locs, loc(x))
	}
	m["Locations"] = locs
	b := func(p *bool, def bool) bool {
		if p == nil {
			return def
		}
		return *p
	}
	m["Mandatory"] = b(l.Mandatory, false)
	m["UseIfFailure"] = b(l.UseIfFailure, false)
	m["UseIfCancel"] = b(l.UseIfCancel, false)
	m["UseIfSuccess"] = b(l.UseIfSuccess, true)
	return m
}

func exe(x jobdesc.Executable) map[string]any {
	args := make([]any, len(x.Args))
	for i, a := range x.Args {
		args[i] = a
	}
	sec := map[string]any{"first": x.SuccessExitCode != nil, "second": 0}
	if x.SuccessExitCode != nil {
		sec["second"] = *x.SuccessExitCode
	}
	return map[string]any{"Path": x.Path, "Argument": args, "SuccessExitCode": sec}
}

func strs(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

// view renders a job the way ARC's JobDescription exposes it.
func view(j jobdesc.Job) map[string]any {
	app := map[string]any{
		"Executable": exe(j.Executable), "Input": j.Stdin, "Output": j.Stdout, "Error": j.Stderr,
		"LogDir": j.LogDir, "DryRun": j.DryRun,
	}
	var pre, post, notes, rl []any
	for _, x := range j.PreExecutables {
		pre = append(pre, exe(x))
	}
	for _, x := range j.PostExecutables {
		post = append(post, exe(x))
	}
	for _, n := range j.Notifications {
		notes = append(notes, map[string]any{"Email": n.Email, "States": strs(n.States)})
	}
	for _, r := range j.RemoteLogging {
		rl = append(rl, map[string]any{"ServiceType": r.Type, "Location": normURL(r.URL), "optional": r.Optional})
	}
	app["PreExecutable"], app["PostExecutable"], app["Notification"], app["RemoteLogging"] = pre, post, notes, rl
	if j.AccessControl != "" {
		app["AccessControl"] = aclNode(j.AccessControl)
	} else {
		app["AccessControl"] = false
	}
	ee := "EE_DEFAULT"
	if j.Resources.Exclusive != nil {
		ee = map[bool]string{true: "EE_TRUE", false: "EE_FALSE"}[*j.Resources.Exclusive]
	}
	bench := map[string]any{"first": "", "second": -1.0}
	if j.Resources.Benchmark != nil {
		bench = map[string]any{"first": j.Resources.Benchmark.Name, "second": j.Resources.Benchmark.Value}
	}
	var rtes []any
	for _, s := range j.Resources.RuntimeEnvironments {
		name, version := splitSoftware(s.Name)
		rtes = append(rtes, map[string]any{"getFamily": "", "getName": name, "getVersion": version, "getOptions": strs(s.Options)})
	}
	res := map[string]any{
		"QueueName":          j.Resources.Queue,
		"SlotRequirement":    map[string]any{"NumberOfSlots": orMinus(j.Resources.Slots), "SlotsPerHost": orMinus(j.Resources.SlotsPerHost), "ExclusiveExecution": ee},
		"TotalCPUTime":       map[string]any{"range": map[string]any{"min": -1, "max": secs(j.Resources.CPUTime)}, "benchmark": bench},
		"TotalWallTime":      map[string]any{"range": map[string]any{"min": -1, "max": secs(j.Resources.WallTime)}, "benchmark": bench},
		"RunTimeEnvironment": map[string]any{"getSoftwareList": rtes},
	}
	var ins, outs []any
	for _, f := range j.Inputs {
		var srcs []any
		for _, s := range f.Sources {
			srcs = append(srcs, loc(s))
		}
		if len(srcs) == 0 { // ARC records a client-pushed file as a source pointing at the local file
			p := f.LocalPath
			if p == "" {
				p = f.Name
			}
			srcs = []any{map[string]any{"_url": "file://" + p, "_options": []jobdesc.Attr(nil), "DelegationID": "", "Locations": []any(nil)}}
		}
		ins = append(ins, map[string]any{"Name": f.Name, "IsExecutable": f.IsExecutable, "Sources": srcs})
	}
	for _, f := range j.Outputs {
		var tg []any
		for _, t := range f.Targets {
			tg = append(tg, loc(t))
		}
		outs = append(outs, map[string]any{"Name": f.Name, "Targets": tg})
	}
	other := map[string]string{}
	for _, q := range j.Resources.RejectQueues {
		other["nordugrid:broker;reject_queue"] = q
	}
	for _, a := range j.Extra {
		other[a.Name] = a.Value
	}
	return map[string]any{
		"Application": app,
		"Resources":   res,
		"DataStaging": map[string]any{"InputFiles": ins, "OutputFiles": outs},
		"Identification": map[string]any{"JobName": j.Name, "Description": j.Description, "Type": j.Type,
			"Annotation": strs(j.Annotations), "ActivityOldID": strs(j.ActivityOldIDs)},
		"OtherAttributes": other,
	}
}

// splitSoftware splits "NAME-1.2.3" at the first '-' followed by a digit, as
// ARC's Software constructor does.
func splitSoftware(s string) (string, string) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && s[i+1] >= '0' && s[i+1] <= '9' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

var reTag = regexp.MustCompile(`<([A-Za-z_][\w.-]*)[ >/]`)

// aclNode summarises an ACL document: root name, child count, first child name.
func aclNode(x string) xmlNode {
	var names []string
	for _, m := range reTag.FindAllStringSubmatch(x, -1) {
		names = append(names, m[1])
	}
	n := xmlNode{}
	if len(names) > 0 {
		n.name = names[0]
	}
	if len(names) > 1 {
		n.child = names[1]
		n.size = strings.Count(x, "<"+names[1]+">") + strings.Count(x, "<"+names[1]+" ")
	}
	return n
}
