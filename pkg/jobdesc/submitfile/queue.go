package submitfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type queueMode int

const (
	qCount queueMode = iota
	qIn
	qMatching
	qFrom
)

// queueSpec is a parsed queue statement; macros in it expand at queue time.
type queueSpec struct {
	pos       Pos
	count     string // "" = 1
	vars      []string
	mode      queueMode
	slice     string   // "[a:b:c]" or ""
	inline    []string // items or lines given in the statement or in ( … )
	source    string   // from: a file name or a command ending in |
	files     bool     // matching files
	dirs      bool     // matching dirs
	multiline bool     // the list continues on the following lines until ')'
	table     bool     // from TABLE file: the first line names the variables
}

// parseQueue reads `queue [N] [vars] [in|matching|from [slice] list]`.
func parseQueue(pos Pos, rest string) (*queueSpec, error) {
	q := &queueSpec{pos: pos}
	// find the first word that is in/matching/from (ASCII case-insensitive,
	// offsets in bytes of rest)
	kw, at := "", -1
	for i := 0; i < len(rest) && at < 0; {
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
			i++
		}
		start := i
		for i < len(rest) && rest[i] != ' ' && rest[i] != '\t' && rest[i] != '(' && rest[i] != '[' {
			i++
		}
		switch w := asciiLower(rest[start:i]); w {
		case "in", "matching", "from":
			kw, at = w, start
		}
		if i == start {
			i++
		}
	}
	head, tail := rest, ""
	if at >= 0 {
		head = strings.TrimSpace(rest[:at])
		tail = strings.TrimSpace(rest[at+len(kw):])
	}
	// head: [count] [var[,var…]]
	fields := strings.FieldsFunc(head, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	if len(fields) > 0 {
		first := fields[0]
		isCount := strings.HasPrefix(first, "$") || isNumber(first)
		switch {
		case kw == "" && len(fields) == 1:
			q.count = first
		case kw == "":
			return nil, &Error{Pos: pos, Msg: fmt.Sprintf("queue %q: expected a count, or variables followed by 'in', 'matching' or 'from'", rest)}
		case isCount:
			q.count = first
			q.vars = fields[1:]
		default:
			q.vars = fields
		}
	}
	if q.count != "" && kw == "" && !strings.HasPrefix(q.count, "$") && !isNumber(q.count) {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("queue count %q is not a number", q.count)}
	}
	for _, v := range q.vars {
		if strings.ContainsAny(v, "()$") {
			return nil, &Error{Pos: pos, Msg: fmt.Sprintf("queue: %q is not a variable name", v)}
		}
	}
	if kw == "" {
		return q, nil
	}
	switch kw {
	case "in":
		q.mode = qIn
	case "matching":
		q.mode = qMatching
		for {
			w, r := firstWord(tail)
			lw := strings.ToLower(w)
			if lw == "files" {
				q.files, tail = true, r
			} else if lw == "dirs" {
				q.dirs, tail = true, r
			} else {
				break
			}
		}
	case "from":
		q.mode = qFrom
	}
	if strings.HasPrefix(tail, "[") {
		end := strings.IndexByte(tail, ']')
		if end < 0 {
			return nil, &Error{Pos: pos, Msg: "queue: slice '[' is not closed by ']'"}
		}
		q.slice = tail[:end+1]
		tail = strings.TrimSpace(tail[end+1:])
	}
	if strings.HasPrefix(tail, "(") {
		body := tail[1:]
		if i := strings.LastIndexByte(body, ')'); i >= 0 {
			q.inline = listItems(body[:i], q.mode)
			if rest := strings.TrimSpace(body[i+1:]); rest != "" {
				return nil, &Error{Pos: pos, Msg: fmt.Sprintf("queue: unexpected %q after ')'", rest)}
			}
		} else {
			q.multiline = true
			if t := strings.TrimSpace(body); t != "" {
				q.inline = listItems(t, q.mode)
			}
		}
		return q, nil
	}
	if tail == "" {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("queue … %s: expected a list, a file or a command", kw)}
	}
	switch q.mode {
	case qIn, qMatching:
		q.inline = listItems(tail, q.mode)
	case qFrom:
		if w, r := firstWord(tail); strings.EqualFold(w, "TABLE") && r != "" {
			q.table, tail = true, r
		}
		q.source = tail
	}
	return q, nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// listItems splits an in/matching list: commas and blanks separate items;
// from lines are kept whole.
func listItems(s string, mode queueMode) []string {
	if mode == qFrom {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if t := strings.TrimSpace(l); t != "" {
				out = append(out, t)
			}
		}
		return out
	}
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// applySlice applies a Python-style [start:end:step] to items.
func applySlice(pos Pos, slice string, items []string) ([]string, error) {
	if slice == "" {
		return items, nil
	}
	body := strings.TrimSuffix(strings.TrimPrefix(slice, "["), "]")
	parts := strings.Split(body, ":")
	if len(parts) > 3 {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("queue slice %q has more than three parts", slice)}
	}
	num := func(i int, def int) (int, bool, error) {
		if i >= len(parts) || strings.TrimSpace(parts[i]) == "" {
			return def, false, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(parts[i]))
		if err != nil {
			return 0, false, &Error{Pos: pos, Msg: fmt.Sprintf("queue slice %q: %q is not an integer", slice, parts[i])}
		}
		return n, true, nil
	}
	n := len(items)
	step, _, err := num(2, 1)
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, &Error{Pos: pos, Msg: fmt.Sprintf("queue slice %q: step cannot be 0", slice)}
	}
	defStart, defEnd := 0, n
	if step < 0 {
		defStart, defEnd = n-1, -n-1
	}
	start, _, err := num(0, defStart)
	if err != nil {
		return nil, err
	}
	end, _, err := num(1, defEnd)
	if err != nil {
		return nil, err
	}
	if len(parts) == 1 { // [i] selects one item
		if start < 0 {
			start += n
		}
		if start < 0 || start >= n {
			return nil, nil
		}
		return items[start : start+1], nil
	}
	norm := func(i int) int {
		if i < 0 {
			i += n
		}
		if step > 0 {
			return min(max(i, 0), n)
		}
		return min(max(i, -1), n-1)
	}
	start, end = norm(start), norm(end)
	var out []string
	if step > 0 {
		for i := start; i < end; i += step {
			out = append(out, items[i])
		}
	} else {
		for i := start; i > end; i += step {
			out = append(out, items[i])
		}
	}
	return out, nil
}

// rowItem is one item of a queue: values for the queue variables.
type rowItem struct {
	vals  []string
	index int    // ItemIndex / Row
	text  string // index as text ("" when not made yet)
}

// items computes the queue's items with macros expanded now (queue time),
// and the count of procs per item.
func (s *session) items(q *queueSpec) ([]rowItem, int, error) {
	count, err := s.queueCount(q)
	if err != nil {
		return nil, 0, err
	}
	if q.mode == qCount {
		return []rowItem{{}}, count, nil
	}
	raw, err := s.rawItems(q)
	if err != nil {
		return nil, 0, err
	}
	out, err := s.rows(q, raw)
	if err != nil {
		return nil, 0, err
	}
	return out, count, nil
}

// expandNow expands text with the macros set so far; the warnings go to
// the queue statement.
func (s *session) expandNow(q *queueSpec, text string) (string, error) {
	v, warns, err := s.m.expand(text, mapScope(s.static))
	if err != nil {
		return "", &Error{Pos: q.pos, Msg: err.Error()}
	}
	s.warnAll(q.pos, warns)
	return v, nil
}

// queueCount is the N of `queue N …` (1 when not given).
func (s *session) queueCount(q *queueSpec) (int, error) {
	if q.count == "" {
		return 1, nil
	}
	c, warns, err := s.m.expand(q.count, mapScope(s.static))
	if err != nil {
		return 0, &Error{Pos: q.pos, Msg: "queue count: " + err.Error()}
	}
	s.warnAll(q.pos, warns)
	if strings.TrimSpace(c) == "" && s.opts.Inspect { // an unset macro: shown as a bare queue
		c = "1"
		s.warns = append(s.warns, Warning{Pos: q.pos, Msg: fmt.Sprintf("queue count %q is empty; queueing 1", q.count)})
	}
	n, err := strconv.Atoi(strings.TrimSpace(c))
	if err != nil || n < 0 {
		return 0, &Error{Pos: q.pos, Msg: fmt.Sprintf("queue count %q (from %q) is not a non-negative integer", c, q.count)}
	}
	return n, nil
}

// rawItems are the item lines of `in`, `matching` and `from`, before the
// slice and the header of a table.
func (s *session) rawItems(q *queueSpec) ([]string, error) {
	var raw []string
	switch q.mode {
	case qIn:
		for _, it := range q.inline {
			v, err := s.expandNow(q, it)
			if err != nil {
				return nil, err
			}
			raw = append(raw, listItems(v, qIn)...)
		}
	case qMatching:
		for _, g := range q.inline {
			v, err := s.expandNow(q, g)
			if err != nil {
				return nil, err
			}
			matches, err := s.glob(q, v)
			if err != nil {
				return nil, err
			}
			raw = append(raw, matches...)
		}
	case qFrom:
		if q.source != "" {
			return s.fromSource(q)
		}
		lines := q.inline
		for i, l := range lines {
			v, err := s.expandNow(q, l)
			if err != nil {
				return nil, err
			}
			lines[i] = v
		}
		raw = lines
	}
	return raw, nil
}

// fromSource reads the lines of `queue … from SOURCE`: standard input (-),
// a command's output (CMD |) or a file.
func (s *session) fromSource(q *queueSpec) ([]string, error) {
	src, err := s.expandNow(q, q.source)
	if err != nil {
		return nil, err
	}
	var b []byte
	switch {
	case src == "-":
		if s.r.opts.Stdin == nil {
			return nil, &Error{Pos: q.pos, Msg: "queue … from -: no standard input to read items from"}
		}
		if b, err = io.ReadAll(s.r.opts.Stdin); err != nil {
			return nil, &Error{Pos: q.pos, Msg: fmt.Sprintf("queue … from -: %v", err)}
		}
	case strings.HasSuffix(src, "|"):
		if b, err = s.r.runCommand(q.pos, strings.TrimSpace(strings.TrimSuffix(src, "|"))); err != nil {
			return nil, err
		}
	default:
		path := src
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.r.opts.Dir, path)
		}
		if b, err = os.ReadFile(path); err != nil {
			return nil, &Error{Pos: q.pos, Msg: fmt.Sprintf("queue … from: %v", err)}
		}
	}
	if err := checkBytes(src, b); err != nil {
		return nil, &Error{Pos: q.pos, Msg: "queue … from " + err.Error()}
	}
	return listItems(string(b), qFrom), nil
}

// rows applies the queue's slice to the item lines (after a table's
// header line, which names the variables) and splits each into values.
func (s *session) rows(q *queueSpec, raw []string) ([]rowItem, error) {
	all := make([]string, len(raw))
	copy(all, raw)
	slice, err := s.expandNow(q, q.slice)
	if err != nil {
		return nil, err
	}
	sliced, err := applySlice(q.pos, slice, indexStrings(len(all)))
	if err != nil {
		return nil, err
	}
	vars := q.vars
	if q.table && len(all) > 0 { // header line names the variables
		vars = strings.FieldsFunc(all[0], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		q.vars = vars
		all = all[1:]
		if sliced, err = applySlice(q.pos, slice, indexStrings(len(all))); err != nil {
			return nil, err
		}
	}
	if len(vars) == 0 {
		vars = []string{"Item"}
	}
	out := make([]rowItem, 0, len(sliced))
	for _, is := range sliced {
		i, _ := strconv.Atoi(is)
		line := all[i]
		var vals []string
		if q.mode == qFrom {
			vals = s.splitRow(line, len(vars))
		} else {
			vals = s.strings(1)
			vals[0] = line
		}
		out = append(out, rowItem{vals: vals, index: i, text: is})
	}
	return out, nil
}

// splitRow is splitRow with the values in a block shared by the rows.
func (s *session) splitRow(line string, n int) []string {
	if n > 64 {
		return splitRow(line, n)
	}
	var buf [64]string
	vals := splitRowInto(buf[:0], line, n)
	out := s.strings(len(vals))
	copy(out, vals)
	return out
}

func indexStrings(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// splitRow splits a `from` line into n fields at commas and/or blanks; the
// last field takes the rest of the line.
func splitRow(line string, n int) []string { return splitRowInto(nil, line, n) }

// splitRowInto is splitRow appending to out.
func splitRowInto(out []string, line string, n int) []string {
	if n == 1 {
		return append(out, strings.TrimSpace(line))
	}
	start := len(out)
	rest := strings.TrimSpace(line)
	for len(out)-start < n-1 && rest != "" {
		i := strings.IndexAny(rest, ", \t")
		if i < 0 {
			out = append(out, rest)
			rest = ""
			break
		}
		out = append(out, rest[:i])
		rest = strings.TrimLeft(rest[i:], ", \t")
	}
	out = append(out, rest)
	for len(out)-start < n {
		out = append(out, "")
	}
	return out
}

func (s *session) glob(q *queueSpec, pattern string) ([]string, error) {
	// "dir/*/" matches directories only and keeps the trailing slash
	dirsOnly := strings.HasSuffix(pattern, "/") && len(pattern) > 1
	pattern = strings.TrimSuffix(pattern, "/")
	full := pattern
	if !filepath.IsAbs(full) {
		full = filepath.Join(s.r.opts.Dir, pattern)
	}
	matches, err := filepath.Glob(full)
	if err != nil {
		return nil, &Error{Pos: q.pos, Msg: fmt.Sprintf("queue … matching %q: %v", pattern, err)}
	}
	sort.Strings(matches)
	var out []string
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			continue
		}
		if q.files && !q.dirs && fi.IsDir() || (q.dirs && !q.files || dirsOnly) && !fi.IsDir() {
			continue
		}
		rel := m
		if !filepath.IsAbs(pattern) {
			if r, err := filepath.Rel(s.r.opts.Dir, m); err == nil {
				rel = r
			}
		}
		if dirsOnly {
			rel += "/"
		}
		out = append(out, rel)
	}
	return out, nil
}
