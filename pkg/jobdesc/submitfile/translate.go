package submitfile

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/classad"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// commands whose meaning ToJob carries into the job model
var mapped = map[string]bool{
	"executable": true, "arguments": true, "args": true, "arguments2": true, "allow_arguments_v1": true,
	"environment": true, "env": true, "input": true, "output": true, "error": true, "transfer_input_files": true,
	"transfer_output_files": true, "request_cpus": true, "request_memory": true, "request_disk": true,
	"batch_name": true, "universe": true, "should_transfer_files": true, "when_to_transfer_output": true,
	"transfer_executable": true, "initialdir": true, "queue": true, "+maxwalltime": true, "+xcount": true,
	"+maxmemory": true, "my.maxwalltime": true, "my.xcount": true, "my.maxmemory": true,
}

// Jobs reads a submit description into the common job model, a job per
// proc, each made as its proc is (a thousand procs' macro tables are never
// all in memory at once).
func Jobs(file string, src []byte, po ParseOptions) ([]jobdesc.Job, error) {
	var jobs []jobdesc.Job
	po.EachProc = func(_ int, p *Proc) error {
		jobs = append(jobs, ToJob(*p))
		return nil
	}
	po.Reserve = func(n int) { jobs = slices.Grow(jobs, n) }
	_, err := Parse(file, src, po)
	return jobs, err
}

// ToJob maps one proc to the common job model. What has no equivalent
// (log, requirements, +attributes, …) becomes a warning naming the command and
// is kept in Extra, never dropped silently.
func ToJob(p Proc) jobdesc.Job {
	t := &translation{p: p}
	t.program()
	t.files()
	t.resources()
	t.j.Name = t.str("JobBatchName")
	if u, ok := p.Ad.Get("JobUniverse"); ok && u != classad.Int(5) {
		t.warn("universe", fmt.Sprintf("universe %s has no equivalent outside HTCondor; the job is translated as an ordinary batch job", p.Macros.Get("universe")))
	}
	t.extras()
	return t.j
}

// translation is one proc being mapped to a job.
type translation struct {
	p Proc
	j jobdesc.Job
}

func (t *translation) warn(cmd, msg string) {
	pos := t.p.Pos
	t.j.Warnings = append(t.j.Warnings, jobdesc.Warning{File: pos.File, Line: pos.Line, Col: pos.Col, Attribute: cmd, Message: msg})
}

// str is a string attribute of the ad ("" when absent or not a string).
func (t *translation) str(attr string) string {
	if e, ok := t.p.Ad.Get(attr); ok {
		if s, ok := e.(classad.String); ok {
			return string(s)
		}
	}
	return ""
}

// intOf is an integer attribute of the ad; an expression is warned about.
func (t *translation) intOf(attr string) (int64, bool) {
	e, ok := t.p.Ad.Get(attr)
	if !ok {
		return 0, false
	}
	if n, ok := e.(classad.Int); ok {
		return int64(n), true
	}
	t.warn(attr, fmt.Sprintf("%s = %s is an expression; the job model takes a number, so it is not translated", attr, classad.Unparse(e)))
	return 0, false
}

// program maps the executable (a local one is shipped with the job), its
// arguments and environment.
func (t *translation) program() {
	j := &t.j
	if cmd := t.p.Macros.Get("executable"); cmd != "" || t.str("Cmd") != "" {
		exe := firstNonEmpty(lookupCI(t.p.Macros, "executable"), t.str("Cmd"))
		j.Executable.Path = exe
		if !filepath.IsAbs(exe) && !strings.Contains(exe, "://") {
			// a local program is shipped with the job
			j.Executable.Path = filepath.Base(exe)
			j.Inputs = append(j.Inputs, jobdesc.InputFile{Name: filepath.Base(exe), LocalPath: exe, IsExecutable: true})
		}
	}
	if a := t.str("Arguments"); a != "" {
		if args, err := parseArgsV2(`"` + strings.ReplaceAll(a, `"`, `""`) + `"`); err == nil {
			j.Executable.Args = args
		}
	} else if a := t.str("Args"); a != "" {
		j.Executable.Args = strings.Fields(a)
	}
	if e := t.str("Environment"); e != "" {
		if env, err := parseEnvV2(`"` + strings.ReplaceAll(e, `"`, `""`) + `"`); err == nil {
			for _, kv := range env {
				j.Environment = append(j.Environment, jobdesc.EnvVar{Name: kv[0], Value: kv[1]})
			}
		}
	} else if e := t.str("Env"); e != "" {
		for _, kv := range strings.FieldsFunc(e, func(r rune) bool { return r == ';' || r == '|' }) {
			n, v, _ := strings.Cut(kv, "=")
			j.Environment = append(j.Environment, jobdesc.EnvVar{Name: strings.TrimSpace(n), Value: v})
		}
	}
}

// files maps the standard streams and the files to transfer.
func (t *translation) files() {
	j := &t.j
	for _, io := range []struct {
		attr string
		dst  *string
	}{{"In", &j.Stdin}, {"Out", &j.Stdout}, {"Err", &j.Stderr}} {
		if v := t.str(io.attr); v != "/dev/null" {
			*io.dst = v
		}
	}
	if j.Stdout != "" && j.Stdout == j.Stderr {
		j.Join = true
	}
	if j.Stdin != "" && !filepath.IsAbs(j.Stdin) {
		j.Inputs = append(j.Inputs, jobdesc.InputFile{Name: filepath.Base(j.Stdin), LocalPath: j.Stdin})
		j.Stdin = filepath.Base(j.Stdin)
	}
	for _, f := range splitList(t.str("TransferInput")) {
		if strings.Contains(f, "://") {
			name := f[strings.LastIndex(f, "/")+1:]
			j.Inputs = append(j.Inputs, jobdesc.InputFile{Name: name, Sources: []jobdesc.Location{{URL: f}}})
			continue
		}
		j.Inputs = append(j.Inputs, jobdesc.InputFile{Name: filepath.Base(strings.TrimSuffix(f, "/")), LocalPath: f})
	}
	for _, f := range splitList(t.str("TransferOutput")) {
		j.Outputs = append(j.Outputs, jobdesc.OutputFile{Name: f})
	}
}

// resources maps the requests and the HTCondor-CE routing attributes.
func (t *translation) resources() {
	r := &t.j.Resources
	if n, ok := t.intOf("RequestCpus"); ok && n > 1 {
		r.Slots = int(n)
	}
	if n, ok := t.intOf("RequestMemory"); ok {
		r.MemoryMB = n
	}
	if e, ok := t.p.Ad.Get("RequestDisk"); ok {
		if n, ok := e.(classad.Int); ok {
			r.DiskMB = (int64(n) + 1023) / 1024
		}
	}
	// HTCondor-CE routing attributes
	for _, a := range t.p.Ad.Attrs {
		n, isInt := a.Expr.(classad.Int)
		if !isInt {
			continue
		}
		switch strings.ToLower(a.Name) {
		case "maxwalltime":
			r.WallTime = time.Duration(n) * time.Minute
		case "xcount":
			r.Slots = int(n)
		case "maxmemory":
			r.MemoryMB = int64(n)
		}
	}
}

// extras keeps everything else the file said, named, with a warning.
func (t *translation) extras() {
	var keys []string
	t.p.Macros.Each(func(k, _ string) { keys = append(keys, k) })
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if mapped[lk] || t.p.Vars.Get(lk) != "" {
			continue
		}
		if strings.HasPrefix(k, "+") || strings.HasPrefix(lk, "my.") || known[lk] {
			t.j.Extra = append(t.j.Extra, jobdesc.Attr{Name: "classad:" + k, Value: t.p.Macros.Get(k)})
			t.warn(k, fmt.Sprintf("submit command %q has no equivalent in xRSL/ADL; kept as an extra attribute", k))
		}
	}
}

// known submit commands that are not plain macros (for warnings)
var known = map[string]bool{"log": true, "requirements": true, "rank": true, "notification": true, "notify_user": true,
	"x509userproxy": true, "use_x509userproxy": true, "grid_resource": true, "stream_output": true, "stream_error": true,
	"priority": true, "docker_image": true, "container_image": true, "request_gpus": true, "periodic_remove": true,
	"periodic_hold": true, "periodic_release": true, "on_exit_remove": true, "on_exit_hold": true, "accounting_group": true,
	"accounting_group_user": true, "getenv": true, "output_destination": true, "transfer_output_remaps": true,
	"max_retries": true, "nice_user": true, "job_lease_duration": true, "leave_in_queue": true}

func lookupCI(m Table, k string) string {
	v := ""
	m.Each(func(kk, vv string) {
		if v == "" && strings.EqualFold(kk, k) {
			v = vv
		}
	})
	return v
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if t := strings.TrimSpace(f); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// FromJob writes a job as a submit description for an HTCondor-CE: vanilla
// universe, files transferred, resources as request_* plus the CE routing
// attributes (+maxWallTime in minutes, +xcount, +maxMemory). What a submit file
// cannot express is returned as warnings naming the attribute.
func FromJob(j jobdesc.Job) (string, []jobdesc.Warning) {
	var b strings.Builder
	var warns []jobdesc.Warning
	warn := func(attr, msg string) { warns = append(warns, jobdesc.Warning{Attribute: attr, Message: msg}) }
	line := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	line("universe", "vanilla")
	line("executable", j.Executable.Path)
	if filepath.IsAbs(j.Executable.Path) {
		shipped := false
		for _, f := range j.Inputs {
			shipped = shipped || f.IsExecutable && (f.Name == j.Executable.Path || f.LocalPath == j.Executable.Path)
		}
		if !shipped {
			// an absolute program is the execute node's (xRSL and ADL semantics)
			line("transfer_executable", "false")
		}
	}
	if len(j.Executable.Args) > 0 {
		quoted := strings.ReplaceAll(joinArgsV2(j.Executable.Args), `"`, `""`)
		line("arguments", `"`+quoted+`"`)
	}
	if len(j.Environment) > 0 {
		var env [][2]string
		for _, e := range j.Environment {
			env = append(env, [2]string{e.Name, e.Value})
		}
		line("environment", `"`+strings.ReplaceAll(joinEnvV2(env), `"`, `""`)+`"`)
	}
	if j.Stdin != "" {
		line("input", j.Stdin)
	}
	if j.Stdout != "" {
		line("output", j.Stdout)
	}
	if j.Stderr != "" {
		line("error", j.Stderr)
	}
	if j.Name != "" {
		line("batch_name", j.Name)
	}
	var ins []string
	for _, f := range j.Inputs {
		switch {
		case f.IsExecutable && f.Name == j.Executable.Path:
			// the executable is transferred by HTCondor itself
		case len(f.Sources) > 0:
			ins = append(ins, f.Sources[0].URL)
			if f.Name != pathBase(f.Sources[0].URL) {
				warn("inputfiles", fmt.Sprintf("input %q from %s: HTCondor names the file after its URL (%s)", f.Name, f.Sources[0].URL, pathBase(f.Sources[0].URL)))
			}
		case f.LocalPath != "":
			ins = append(ins, f.LocalPath)
		default:
			ins = append(ins, f.Name)
		}
	}
	line("should_transfer_files", "YES")
	line("when_to_transfer_output", "ON_EXIT")
	if len(ins) > 0 {
		line("transfer_input_files", strings.Join(ins, ", "))
	}
	var outs []string
	for _, f := range j.Outputs {
		if len(f.Targets) > 0 {
			warn("outputfiles", fmt.Sprintf("output %q: the upload to %s is not translated; the file comes back with the job", f.Name, f.Targets[0].URL))
		}
		if f.Name == j.Stdout || f.Name == j.Stderr {
			continue // output and error come back as such
		}
		outs = append(outs, f.Name)
	}
	if len(outs) > 0 {
		line("transfer_output_files", strings.Join(outs, ", "))
	}
	r := j.Resources
	if r.Slots > 0 {
		line("request_cpus", strconv.Itoa(r.Slots))
		line("+xcount", strconv.Itoa(r.Slots))
	}
	if r.MemoryMB > 0 {
		line("request_memory", strconv.FormatInt(r.MemoryMB, 10))
		line("+maxMemory", strconv.FormatInt(r.MemoryMB, 10))
	}
	if r.DiskMB > 0 {
		line("request_disk", strconv.FormatInt(r.DiskMB*1024, 10))
	}
	if r.WallTime > 0 {
		line("+maxWallTime", strconv.FormatInt(int64((r.WallTime+time.Minute-1)/time.Minute), 10))
	}
	if r.CPUTime > 0 {
		warn("cputime", "HTCondor-CE has no CPU-time limit; not translated")
	}
	if r.Queue != "" {
		line("+queue", strconv.Quote(r.Queue))
	}
	for _, rte := range r.RuntimeEnvironments {
		warn("runtimeenvironment", fmt.Sprintf("runtime environment %s has no HTCondor equivalent; not translated", rte.Name))
	}
	for _, x := range [][2]string{{"gmlog", j.LogDir}, {"lifetime", durationString(j.Lifetime)}, {"notify", notifyString(j.Notifications)}} {
		if x[1] != "" {
			warn(x[0], x[0]+" has no HTCondor equivalent; not translated")
		}
	}
	for _, a := range j.Extra {
		if name, ok := strings.CutPrefix(a.Name, "classad:"); ok {
			line(name, a.Value)
			continue
		}
		warn(a.Name, "attribute "+a.Name+" has no HTCondor equivalent; not translated")
	}
	b.WriteString("queue\n")
	return b.String(), warns
}

func pathBase(u string) string { return u[strings.LastIndex(u, "/")+1:] }

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func notifyString(n []jobdesc.Notification) string {
	if len(n) == 0 {
		return ""
	}
	return n[0].Email
}
