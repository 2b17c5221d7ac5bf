package submitfile

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// Proc is one job of the submission.
type Proc struct {
	ClusterID, ProcID int
	// Ad holds the CE-subset attributes condor_submit would set.
	Ad classad.Ad
	// Vars are the macro values used for this proc (queue variables, built-ins).
	Vars map[string]string
	// Macros is every submit command with its expanded value for this proc.
	Macros map[string]string
	Pos    Pos // of its queue statement
}

// File is a parsed submit description.
type File struct {
	Procs    []Proc
	Warnings []Warning
}

// Subset lists the job attributes cesub produces (and compares with
// condor_submit -dry-run); other submit commands are kept as macros.
var Subset = []string{"Cmd", "Arguments", "Args", "Environment", "Env", "In", "Out", "Err", "UserLog", "Iwd",
	"TransferInput", "TransferOutput", "TransferExecutable", "ShouldTransferFiles", "WhenToTransferOutput",
	"RequestCpus", "RequestMemory", "RequestDisk", "RequestGPUs", "JobUniverse", "Requirements", "ClusterId",
	"ProcId", "JobStatus", "GridResource", "x509userproxy", "StreamOut", "StreamErr", "JobBatchName", "NotifyUser",
	"HoldReason", "HoldReasonCode", "LeaveJobInQueue", "JobPrio", "RetryRequestMemory", "RetryRequestDisk",
	"DockerImage", "WantDocker", "WantDockerImage", "ContainerImage", "WantContainer"}

// ParseOptions extend Options for proc generation.
type ParseOptions struct {
	Options
	// ClusterID numbers the first cluster (default 1).
	ClusterID int
	// Spool marks jobs as condor_submit -spool does (held until inputs arrive).
	Spool bool
	// Arch and OpSys for default Requirements (default X86_64, LINUX).
	Arch, OpSys string
	// MaxProcs bounds the number of procs (default 1,000,000).
	MaxProcs int
	// Queue is a queue statement (without the word queue) run after the file, as condor_submit -queue does.
	Queue string
	// Repeat makes each queue statement queue Repeat times as many procs
	// (cesub submit --count: `queue 2` becomes 2×Repeat procs, numbered on,
	// so $(Process) stays unique).
	Repeat int
	// StrictMacros makes an undefined $(macro) an error (condor_submit expands it to nothing).
	StrictMacros bool
	// Inspect reads a file for display rather than submission: no queue
	// statement gives zero procs and a missing executable a warning, instead of errors.
	Inspect bool
	// CondorVersion is the HTCondor version (e.g. "25.14.1") whose
	// condor_submit the ads follow where versions differ; empty means 23.x
	// (the LTS series): from 25.8 a spooled job's LeaveJobInQueue lets it
	// leave once its output was fetched, from 25.12 Requirements leaves the
	// disk check to execute points that enforce it.
	CondorVersion string
	// EachProc, if set, receives every proc as it is made (index: its
	// position in the file) instead of File.Procs keeping them, so a caller
	// can use the first procs while the rest are being made; an error it
	// returns stops the parse.
	EachProc func(index int, p *Proc) error
	// Reserve, if set, is told how many procs a queue statement is about
	// to make, before the first (a caller collecting them sizes once).
	Reserve func(n int)
}

// Parse reads a submit description and produces its procs.
func Parse(file string, src []byte, o ParseOptions) (*File, error) {
	if o.Dir == "" {
		o.Dir = filepath.Dir(file)
		if abs, err := filepath.Abs(o.Dir); err == nil {
			o.Dir = abs
		}
	}
	if o.Env == nil {
		o.Env = os.Getenv
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ClusterID == 0 {
		o.ClusterID = 1
	}
	if o.Arch == "" {
		o.Arch = "X86_64"
	}
	if o.OpSys == "" {
		o.OpSys = "LINUX"
	}
	if o.MaxProcs == 0 {
		o.MaxProcs = 1_000_000
	}
	r := &reader{opts: o.Options, vars: newMacros(o.Env, o.Dir)}
	static := staticVars(file, o)
	for k, v := range static {
		r.vars.vals[k] = v
	}
	for k, v := range o.Vars {
		r.stmts = append(r.stmts, statement{pos: Pos{File: "command line"}, key: k, value: v})
		r.vars.set(k, v)
	}
	if err := r.read(file, src); err != nil {
		if _, ok := err.(*Error); ok {
			return nil, err
		}
		return nil, &Error{Pos: Pos{File: file}, Msg: err.Error()}
	}
	s := &session{r: r, m: newMacros(o.Env, o.Dir), static: static, opts: o, keyPos: map[string]Pos{}}
	for k, v := range static {
		s.m.vals[k] = v
	}
	f := &File{}
	sawQueue := false
	for _, st := range r.stmts {
		if st.queue == nil {
			s.m.set(st.key, st.value)
			s.noteKey(st.key)
			s.keyPos[strings.ToLower(st.key)] = st.pos
			continue
		}
		if o.Queue != "" { // condor_submit refuses both
			return nil, &Error{Pos: st.pos, Msg: "--queue conflicts with the queue statement here (give one or the other)"}
		}
		sawQueue = true
		if err := s.queue(st.queue, f); err != nil {
			return nil, err
		}
	}
	if o.Queue != "" { // condor_submit -queue: a queue statement given on the command line
		q, err := parseQueue(Pos{File: "--queue"}, o.Queue)
		if err != nil {
			return nil, err
		}
		if err := s.queue(q, f); err != nil {
			return nil, err
		}
		sawQueue = true
	}
	if !sawQueue && o.Inspect {
		f.Warnings = append(r.warns, s.warns...)
		f.Warnings = append(f.Warnings, Warning{Pos: Pos{File: file}, Msg: "no 'queue' statement: nothing would be submitted (give one with --queue)"})
		return f, nil
	}
	if !sawQueue {
		return nil, &Error{Pos: Pos{File: file}, Msg: "no 'queue' statement: nothing would be submitted (give one with --queue)"}
	}
	f.Warnings = append(r.warns, s.warns...)
	return f, nil
}

func staticVars(file string, o ParseOptions) map[string]string {
	t := o.Now
	return map[string]string{
		"submit_file": file, // as given, like condor_submit: $Fp(SUBMIT_FILE) may be empty "submit_time": strconv.FormatInt(t.Unix(), 10),
		"year":        strconv.Itoa(t.Year()), "month": fmt.Sprintf("%02d", int(t.Month())), "day": fmt.Sprintf("%02d", t.Day()),
		"arch": o.Arch, "opsys": o.OpSys,
	}
}

type session struct {
	r       *reader
	m       *macros
	static  map[string]string
	opts    ParseOptions
	keys    []string // submit commands in first-assignment order (as written)
	seen    map[string]bool
	warns   []Warning
	cluster int
	proc    int
	made    int            // procs made so far, all clusters
	keyPos  map[string]Pos // where each command was last assigned
	strict  error          // first undefined macro under StrictMacros
	attrs   int            // attributes of the last proc made: the next one's ad is sized for as many
	exprs   map[string]parsedExpr
}

type parsedExpr struct {
	e   classad.Expr
	err error
}

// expr parses a ClassAd expression (old syntax), once per text: a
// thousand procs mostly share their expressions, and parsed expressions
// are never modified.
func (s *session) expr(text string) (classad.Expr, error) {
	if p, ok := s.exprs[text]; ok {
		return p.e, p.err
	}
	e, err := classad.ParseExpr(text, classad.Old)
	if s.exprs == nil {
		s.exprs = map[string]parsedExpr{}
	}
	if len(s.exprs) < 10000 {
		s.exprs[text] = parsedExpr{e, err}
	}
	return e, err
}

func (s *session) noteKey(k string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	lk := strings.ToLower(k)
	if !s.seen[lk] {
		s.seen[lk] = true
		s.keys = append(s.keys, k)
	}
}

func (s *session) warnAll(p Pos, msgs []string) {
	for _, m := range msgs {
		w := Warning{Pos: p, Msg: m}
		dup := false
		for _, x := range s.warns {
			dup = dup || x == w
		}
		if !dup {
			s.warns = append(s.warns, w)
		}
	}
}

func (s *session) queue(q *queueSpec, f *File) error {
	items, count, err := s.items(q)
	if err != nil {
		return err
	}
	if s.opts.Repeat > 1 {
		count *= s.opts.Repeat
	}
	vars := q.vars
	if len(vars) == 0 {
		vars = []string{"Item"}
	}
	if s.cluster == 0 {
		s.cluster = s.opts.ClusterID
	}
	// refused before the first proc is made: `queue 100000000` would
	// otherwise fill memory up to the limit first
	if left := s.opts.MaxProcs - s.made; count > 0 && len(items) > left/count {
		return &Error{Pos: q.pos, Msg: fmt.Sprintf("this queue statement makes %s procs, more than the %d a submission may have (%d made before it)",
			procCount(len(items), count), s.opts.MaxProcs, s.made)}
	}
	if s.opts.Reserve != nil {
		s.opts.Reserve(len(items) * count)
	}
	for _, it := range items {
		for step := 0; step < count; step++ {
			if s.made >= s.opts.MaxProcs {
				return &Error{Pos: q.pos, Msg: fmt.Sprintf("more than %d procs", s.opts.MaxProcs)}
			}
			ov := make(map[string]string, len(s.static)+8+len(vars))
			for k, v := range s.static {
				ov[k] = v
			}
			cl, pr := strconv.Itoa(s.cluster), strconv.Itoa(s.proc)
			ov["cluster"], ov["clusterid"], ov["process"], ov["procid"] = cl, cl, pr, pr
			ov["node"] = "#pArAlLeLnOdE#"
			ov["step"] = strconv.Itoa(step)
			ov["itemindex"] = strconv.Itoa(it.index)
			ov["row"] = strconv.Itoa(it.index)
			for i, v := range vars {
				if i < len(it.vals) {
					ov[strings.ToLower(v)] = it.vals[i]
				}
			}
			if q.mode == qCount {
				delete(ov, "itemindex")
				delete(ov, "row")
			}
			p, err := s.makeProc(q, ov)
			if err != nil {
				return err
			}
			if s.opts.EachProc != nil {
				if err := s.opts.EachProc(s.made, &p); err != nil {
					return err
				}
			} else {
				f.Procs = append(f.Procs, p)
			}
			s.made++
			s.proc++
		}
	}
	return nil
}

// procCount is items x count as a number, or the product written out when
// it overflows.
func procCount(items, count int) string {
	if n := items * count; count != 0 && n/count == items {
		return strconv.Itoa(n)
	}
	return fmt.Sprintf("%d x %d", items, count)
}

// makeProc evaluates every submit command for one proc and maps the CE subset to attributes.
func (s *session) makeProc(q *queueSpec, ov map[string]string) (Proc, error) {
	p := Proc{ClusterID: s.cluster, ProcID: s.proc, Vars: ov, Macros: make(map[string]string, len(s.keys)), Pos: q.pos}
	p.Ad.Attrs = make([]classad.Attr, 0, max(s.attrs, 16))
	defer func() { s.attrs = len(p.Ad.Attrs) }()
	val := func(key string) (string, bool) {
		raw, ok := ov[strings.ToLower(key)] // queue variables act as submit commands too
		if !ok || s.static[strings.ToLower(key)] != "" {
			raw, ok = s.m.lookup(key)
		}
		if !ok {
			return "", false
		}
		v, warns, err := s.m.expand(raw, ov)
		at := q.pos
		if kp, ok := s.keyPos[strings.ToLower(key)]; ok {
			at = kp // name the line that uses the macro
		}
		if err != nil && s.strict == nil {
			s.strict = &Error{Pos: at, Msg: key + ": " + err.Error()}
		}
		s.warnAll(at, warns)
		if len(warns) > 0 && s.opts.StrictMacros && s.strict == nil {
			s.strict = &Error{Pos: at, Msg: key + ": " + warns[0]}
		}
		return v, true
	}
	for _, k := range s.keys {
		v, _ := val(k)
		p.Macros[k] = v
	}
	if s.strict != nil {
		return p, s.strict
	}
	ad := &p.Ad
	set := func(name string, e classad.Expr) { ad.Set(name, e) }
	str := func(name, v string) { set(name, classad.String(v)) }
	ad.Set("ClusterId", classad.Int(s.cluster))
	ad.Set("ProcId", classad.Int(s.proc))
	iwd := s.opts.Dir
	if v, ok := val("initialdir"); ok && v != "" {
		if !filepath.IsAbs(v) {
			v = filepath.Join(s.opts.Dir, v)
		}
		iwd = v
	}
	str("Iwd", iwd)
	abs := func(path string) string {
		if path == "" || filepath.IsAbs(path) || strings.Contains(path, "://") || path == "/dev/null" {
			return path
		}
		return filepath.Join(iwd, path)
	}
	universe := "vanilla"
	if v, ok := val("universe"); ok && v != "" {
		universe = strings.ToLower(v)
	}
	u, ok := universes[universe]
	if !ok {
		return p, &Error{Pos: at(s, q, "universe"), Msg: fmt.Sprintf("universe %q is not one of vanilla, scheduler, grid, java, parallel, local, vm, docker, container", universe)}
	}
	if universe == "standard" && !s.opts.Inspect {
		// condor_submit: "'Standard' is not a supported universe." (gone since HTCondor 9.0)
		return p, &Error{Pos: at(s, q, "universe"), Msg: "the standard universe is not supported (HTCondor removed it in 9.0): use vanilla"}
	}
	if universe == "grid" && !s.opts.Inspect {
		gr, _ := val("grid_resource")
		typ, _, _ := strings.Cut(strings.TrimSpace(gr), " ")
		switch {
		case typ == "":
			return p, &Error{Pos: q.pos, Msg: "grid universe: no grid_resource given before this queue statement"}
		case !gridTypes[strings.ToLower(typ)] && !strings.Contains(typ, "$$("): // $$() is filled in at match time
			return p, &Error{Pos: at(s, q, "grid_resource"), Msg: fmt.Sprintf("grid_resource type %q is not one of condor, batch, arc, ec2, gce, azure "+
				"(or the batch systems pbs, lsf, sge, nqs, naregi), as condor_submit requires", typ)}
		}
	}
	set("JobUniverse", classad.Int(u))
	dockerImage, _ := val("docker_image")
	containerImage, _ := val("container_image")
	if v, ok := val("executable"); ok {
		if universe == "grid" || universe == "vm" {
			str("Cmd", v) // a label for the remote system, not a local file
		} else {
			str("Cmd", abs(v))
		}
	} else if universe == "docker" || dockerImage != "" || containerImage != "" {
		str("Cmd", "") // the image's entry point
	} else if universe != "grid" {
		if !s.opts.Inspect {
			return p, &Error{Pos: q.pos, Msg: "no executable given before this queue statement"}
		}
		s.warns = append(s.warns, Warning{Pos: q.pos, Msg: "no executable given before this queue statement"})
	}
	switch {
	case dockerImage != "" && containerImage != "":
		return p, &Error{Pos: q.pos, Msg: "cannot declare both docker_image and container_image"}
	case universe == "docker" && containerImage != "":
		return p, &Error{Pos: q.pos, Msg: "docker universe does not allow use of container_image."}
	case strings.HasPrefix(containerImage, "instance://"):
		return p, &Error{Pos: q.pos, Msg: fmt.Sprintf("container_image %q is not a valid container image", containerImage)}
	}
	if universe == "docker" {
		if dockerImage == "" {
			return p, &Error{Pos: q.pos, Msg: "docker universe needs docker_image"}
		}
		str("DockerImage", dockerImage)
		set("WantDocker", classad.Bool(true))
	} else if dockerImage != "" {
		str("DockerImage", dockerImage)
		set("WantDockerImage", classad.Bool(true))
		set("WantContainer", classad.Bool(true))
	} else if containerImage != "" {
		str("ContainerImage", containerImage)
		set("WantContainer", classad.Bool(true))
	}
	// arguments: arguments2 (V2) wins when allowed; a leading " means V2 syntax.
	argKey := ""
	for _, k := range []string{"arguments", "args"} {
		if _, ok := val(k); ok {
			argKey = k
		}
	}
	if v, ok := val("arguments2"); ok {
		list, err := parseArgsV2(v)
		if err != nil {
			return p, &Error{Pos: q.pos, Msg: "arguments2: " + err.Error()}
		}
		str("Arguments", joinArgsV2(list))
	} else if argKey != "" {
		v, _ := val(argKey)
		if strings.HasPrefix(strings.TrimSpace(v), `"`) {
			list, err := parseArgsV2(v)
			if err != nil {
				return p, &Error{Pos: q.pos, Msg: argKey + ": " + err.Error()}
			}
			str("Arguments", joinArgsV2(list))
		} else {
			str("Args", v)
		}
	} else {
		str("Arguments", "")
	}
	envSet := false
	for _, k := range []string{"environment", "env"} {
		if v, ok := val(k); ok {
			envSet = true
			if strings.HasPrefix(strings.TrimSpace(v), `"`) {
				list, err := parseEnvV2(v)
				if err != nil {
					return p, &Error{Pos: q.pos, Msg: k + ": " + err.Error()}
				}
				str("Environment", joinEnvV2(list))
			} else {
				str("Env", v)
			}
		}
	}
	if !envSet {
		str("Environment", "")
	}
	for _, io := range [][2]string{{"input", "In"}, {"output", "Out"}, {"error", "Err"}} {
		v, ok := val(io[0])
		if !ok || v == "" {
			v = "/dev/null"
		}
		str(io[1], v)
	}
	if v, ok := val("log"); ok && v != "" {
		str("UserLog", abs(v))
	}
	if v, ok := val("transfer_input_files"); ok && v != "" {
		str("TransferInput", commaList(v))
	}
	if v, ok := val("transfer_output_files"); ok && v != "" {
		str("TransferOutput", commaList(v))
	}
	gridType := ""
	if v, ok := val("grid_resource"); ok {
		gridType, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(v)), " ")
	}
	// nothing local to transfer: an image's entry point, a cloud instance label, a VM
	if c, _ := ad.Get("Cmd"); c == classad.String("") || universe == "vm" || gridType == "ec2" || gridType == "gce" || gridType == "azure" {
		set("TransferExecutable", classad.Bool(false))
	}
	if v, ok := val("transfer_executable"); ok {
		b, ok := truth(v)
		if !ok {
			return p, &Error{Pos: q.pos, Msg: fmt.Sprintf("transfer_executable %q is not true or false", v)}
		}
		set("TransferExecutable", classad.Bool(b))
	}
	if s.opts.CheckFiles {
		// condor_submit's checks of what must exist where it runs
		if te, ok := ad.Get("TransferExecutable"); !ok || te != classad.Bool(false) {
			if c, ok := ad.Get("Cmd"); ok {
				if exe, _ := c.(classad.String); exe != "" {
					if fi, err := os.Stat(string(exe)); err != nil || fi.IsDir() {
						return p, &Error{Pos: at(s, q, "executable"), Msg: fmt.Sprintf("executable file %s does not exist (or is a directory)", exe)}
					}
				}
			}
		}
		if _, given := val("initialdir"); given {
			if fi, err := os.Stat(iwd); err != nil || !fi.IsDir() {
				return p, &Error{Pos: at(s, q, "initialdir"), Msg: fmt.Sprintf("initialdir %s is not a directory", iwd)}
			}
		}
		if v, ok := val("x509userproxy"); ok && v != "" {
			f, err := os.Open(abs(v))
			if err != nil {
				return p, &Error{Pos: at(s, q, "x509userproxy"), Msg: fmt.Sprintf("x509userproxy %s cannot be read: %v", abs(v), errors.Unwrap(err))}
			}
			f.Close()
		}
	}
	stf := "YES"
	if v, ok := val("should_transfer_files"); ok && v != "" {
		// HTCondor's own table (enum_utils.cpp)
		stf, ok = map[string]string{"YES": "YES", "TRUE": "YES", "ALWAYS": "YES", "NO": "NO", "FALSE": "NO",
			"NEVER": "NO", "IF_NEEDED": "IF_NEEDED", "AUTO": "IF_NEEDED"}[strings.ToUpper(strings.TrimSpace(v))]
		if !ok {
			return p, &Error{Pos: q.pos, Msg: fmt.Sprintf("should_transfer_files %q is not YES, NO or IF_NEEDED", v)}
		}
	}
	str("ShouldTransferFiles", stf)
	if stf != "NO" {
		w := "ON_EXIT"
		if v, ok := val("when_to_transfer_output"); ok && v != "" {
			w = strings.ToUpper(v)
		}
		str("WhenToTransferOutput", w)
	}
	cpusGiven := false
	if v, ok := val("request_cpus"); ok && v != "" {
		e, err := s.expr(v)
		if err != nil {
			return p, &Error{Pos: q.pos, Msg: fmt.Sprintf("request_cpus %q: %v", v, err)}
		}
		set("RequestCpus", e)
		cpusGiven = true
	} else {
		set("RequestCpus", classad.Int(1))
	}
	for _, r := range []struct {
		key, attr string
		unit      float64
	}{{"request_memory", "RequestMemory", 1024 * 1024}, {"request_disk", "RequestDisk", 1024}} {
		v, ok := val(r.key)
		if !ok || v == "" {
			if r.attr == "RequestDisk" {
				set("RequestDisk", classad.AttrRef{Name: "DiskUsage"})
			}
			continue
		}
		// "1GB, 2G, 8 gb": the first size is requested, the others are the sizes to retry with
		sizes := []string{v}
		if !strings.ContainsAny(v, "({") {
			sizes = strings.Split(v, ",")
		}
		var list classad.List
		for i, sz := range sizes {
			e, err := sizeExpr(sz, r.unit)
			if err != nil {
				return p, &Error{Pos: q.pos, Msg: r.key + ": " + err.Error()}
			}
			if i == 0 {
				set(r.attr, e)
			} else {
				list = append(list, e)
			}
		}
		if extra, ok := val("retry_" + r.key); ok && extra != "" {
			for _, sz := range strings.Split(extra, ",") {
				e, err := sizeExpr(sz, r.unit)
				if err != nil {
					return p, &Error{Pos: q.pos, Msg: "retry_" + r.key + ": " + err.Error()}
				}
				list = append(list, e)
			}
		}
		if len(list) > 0 {
			set("Retry"+r.attr, list)
		}
	}
	if universe == "vm" && !ad.Has("RequestMemory") {
		set("RequestMemory", classad.AttrRef{Scope: "MY", Name: "JobVMMemory"})
	}
	if v, ok := val("request_gpus"); ok && v != "" {
		e, err := s.expr(v)
		if err != nil {
			return p, &Error{Pos: q.pos, Msg: fmt.Sprintf("request_gpus %q: %v", v, err)}
		}
		set("RequestGPUs", e)
	}
	for _, kv := range [][2]string{{"grid_resource", "GridResource"}, {"batch_name", "JobBatchName"}, {"notify_user", "NotifyUser"}} {
		if v, ok := val(kv[0]); ok && v != "" {
			str(kv[1], v)
		}
	}
	if v, ok := val("x509userproxy"); ok && v != "" {
		str("x509userproxy", abs(v))
	}
	for _, kv := range [][2]string{{"stream_output", "StreamOut"}, {"stream_error", "StreamErr"}} {
		b := false
		if v, ok := val(kv[0]); ok {
			b, _ = truth(v)
		}
		set(kv[1], classad.Bool(b))
	}
	prio := int64(0)
	if v, ok := val("priority"); ok && v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return p, &Error{Pos: q.pos, Msg: fmt.Sprintf("priority %q is not an integer", v)}
		}
		prio = n
	}
	set("JobPrio", classad.Int(prio))
	// +Attr and MY.Attr: raw ClassAd expressions
	for _, k := range s.keys {
		name := ""
		switch {
		case strings.HasPrefix(k, "+"):
			name = k[1:]
		case len(k) > 3 && strings.EqualFold(k[:3], "MY."):
			name = k[3:]
		default:
			continue
		}
		v := p.Macros[k]
		e, err := s.expr(v)
		if err != nil {
			return p, &Error{Pos: q.pos, Msg: fmt.Sprintf("%s = %s: not a ClassAd expression: %v", k, v, err)}
		}
		set(name, e)
	}
	literal := func(attr string) (float64, bool) {
		e, ok := ad.Get(attr)
		if !ok {
			return 0, false
		}
		switch v := e.(type) {
		case classad.Int:
			return float64(v), true
		case classad.Real:
			return float64(v), true
		}
		return 0, false
	}
	mem, memLit := literal("RequestMemory")
	disk, diskLit := literal("RequestDisk")
	req, err := s.requirements(val, reqFlags{cpus: cpusGiven, transfer: stf != "NO", universe: universe,
		gpus: ad.Has("RequestGPUs"), docker: universe == "docker", inputs: transferInputs(ad),
		memTiny: memLit && mem <= 1, diskZero: diskLit && disk <= 0})
	if err != nil {
		return p, &Error{Pos: q.pos, Msg: err.Error()}
	}
	if req != nil {
		set("Requirements", req)
	}
	if s.opts.Spool {
		set("JobStatus", classad.Int(5))
		str("HoldReason", "Spooling input data files")
		set("HoldReasonCode", classad.Int(16))
		// a spooled job stays in the queue after it completes, for up to
		// 10 days, so that its output can be fetched; from 25.8 it may
		// leave once the output has been fetched
		text := "JobStatus == 4 && (CompletionDate =?= undefined || CompletionDate == 0 || ((time() - CompletionDate) < 864000))"
		if versionAtLeast(s.opts.CondorVersion, 25, 8) {
			text = "JobStatus == 4 && (time() - (CompletionDate ?: time())) < 864000 && (StageOutFinish ?: 0) < EnteredCurrentStatus"
		}
		e, _ := s.expr(text)
		set("LeaveJobInQueue", e)
	} else {
		set("JobStatus", classad.Int(1))
	}
	if v, ok := val("leave_in_queue"); ok && strings.TrimSpace(v) != "" {
		e, err := s.expr(v)
		if err != nil {
			return p, &Error{Pos: s.keyPos["leave_in_queue"], Msg: fmt.Sprintf("leave_in_queue %q: %v", v, err)}
		}
		set("LeaveJobInQueue", e)
	}
	return p, nil
}

// gridTypes are the grid_resource types condor_submit 23.x and 25.x
// accept (case does not matter).
var gridTypes = map[string]bool{"condor": true, "batch": true, "arc": true, "ec2": true, "gce": true, "azure": true,
	"pbs": true, "lsf": true, "sge": true, "nqs": true, "naregi": true}

// at is where the command key was last assigned, else the queue statement.
func at(s *session, q *queueSpec, key string) Pos {
	if p, ok := s.keyPos[key]; ok {
		return p
	}
	return q.pos
}

var universes = map[string]int{"standard": 1, "vanilla": 5, "docker": 5, "container": 5, "scheduler": 7, "grid": 9,
	"globus": 9, "java": 10, "parallel": 11, "local": 12, "vm": 13}

// reqFlags says what the job asks for, for the default Requirements.
type reqFlags struct {
	cpus, transfer, gpus, docker bool
	// request_memory / request_disk given as literal numbers too small to
	// matter (condor_submit leaves out the clause then)
	memTiny, diskZero bool
	universe          string
	inputs            []string
}

func transferInputs(ad *classad.Ad) []string {
	e, ok := ad.Get("TransferInput")
	if !ok {
		return nil
	}
	s, _ := e.(classad.String)
	return strings.Split(string(s), ",")
}

func urlScheme(s string) bool {
	if s == "" || !(s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// commaList normalises a file list as condor_submit stores it: comma-separated, no blanks around commas.
func commaList(v string) string {
	parts := strings.Split(v, ",")
	var out []string
	for _, p := range parts {
		if t := strings.TrimSpace(p); t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, ",")
}

// requirements builds Requirements as condor_submit does: the user's
// expression ANDed with defaults for what the job asks (unless the user's
// expression already mentions them).
func (s *session) requirements(val func(string) (string, bool), f reqFlags) (classad.Expr, error) {
	var user classad.Expr
	userText := ""
	if v, ok := val("requirements"); ok && strings.TrimSpace(v) != "" {
		e, err := s.expr(v)
		if err != nil {
			return nil, fmt.Errorf("requirements %q: %v", v, err)
		}
		user, userText = e, strings.ToLower(v)
	}
	if f.universe == "grid" || f.universe == "scheduler" || f.universe == "local" {
		if user == nil {
			return classad.Bool(true), nil
		}
		return user, nil
	}
	parse := func(text string) classad.Expr {
		e, err := s.expr(text)
		if err != nil { // only constant texts and --arch/--opsys reach here
			return classad.Paren{X: classad.String(text)}
		}
		return e
	}
	var clauses []classad.Expr
	if user != nil {
		clauses = append(clauses, classad.Paren{X: user})
	}
	if f.docker && !strings.Contains(userText, "hasdocker") {
		clauses = append(clauses, parse("TARGET.HasDocker"))
	}
	if !strings.Contains(userText, "arch") {
		clauses = append(clauses, parse(`(TARGET.Arch == "`+s.opts.Arch+`")`))
	}
	if !strings.Contains(userText, "opsys") {
		clauses = append(clauses, parse(`(TARGET.OpSys == "`+s.opts.OpSys+`")`))
	}
	// as submit_utils.cpp (23.x): the disk and memory clauses stay even when
	// the user's expression mentions Disk or Memory; only a literal request
	// too small to matter drops them
	if !f.diskZero || strings.Contains(userText, "disk") {
		if versionAtLeast(s.opts.CondorVersion, 25, 12) {
			// from 25.12 the execute point enforces the disk request itself
			clauses = append(clauses, parse(`(versionGE(split(TARGET.CondorVersion)[1],"25.12.0") || (TARGET.Disk >= RequestDisk))`))
		} else {
			clauses = append(clauses, parse("(TARGET.Disk >= RequestDisk)"))
		}
	}
	if !f.memTiny {
		clauses = append(clauses, parse("(TARGET.Memory >= RequestMemory)"))
	}
	if f.cpus && !strings.Contains(userText, "cpus") {
		clauses = append(clauses, parse("(TARGET.Cpus >= RequestCpus)"))
	}
	if f.gpus && !strings.Contains(userText, "gpus") {
		clauses = append(clauses, parse("(TARGET.GPUs >= RequestGPUs)"))
	}
	switch {
	case f.transfer && !strings.Contains(userText, "hasfiletransfer"):
		// URL inputs need a transfer plugin for their scheme on the execute side
		var x classad.Expr = classad.AttrRef{Scope: "TARGET", Name: "HasFileTransfer"}
		seen := map[string]bool{}
		for _, in := range f.inputs {
			scheme, _, ok := strings.Cut(strings.TrimSpace(in), "://")
			scheme = strings.ToUpper(scheme)
			if !ok || !urlScheme(scheme) || seen[scheme] {
				continue
			}
			seen[scheme] = true
			x = classad.Binary{Op: "&&", X: x, Y: classad.Call{Name: "stringListIMember",
				Args: []classad.Expr{classad.String(scheme), classad.AttrRef{Scope: "TARGET", Name: "HasFileTransferPluginMethods"}}}}
		}
		clauses = append(clauses, classad.Paren{X: x})
	case !f.transfer && !strings.Contains(userText, "filesystemdomain"):
		clauses = append(clauses, parse("(TARGET.FileSystemDomain == MY.FileSystemDomain)"))
	}
	e := clauses[0]
	for _, c := range clauses[1:] {
		e = classad.Binary{Op: "&&", X: e, Y: c}
	}
	return e, nil
}

// sizeExpr reads request_memory/request_disk: a number with an optional unit
// (K, M, G, T, with or without B) converted to the attribute's unit (MiB for
// memory, KiB for disk; a bare number is already in it), rounded up; anything
// else is a ClassAd expression.
func sizeExpr(v string, unitBytes float64) (classad.Expr, error) {
	t := strings.TrimSpace(v)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	if i > 0 {
		num, err := strconv.ParseFloat(t[:i], 64)
		unit := strings.ToUpper(strings.TrimSpace(t[i:]))
		unit = strings.TrimSuffix(unit, "B")
		if err == nil {
			mult := map[string]float64{"K": 1024, "M": 1024 * 1024, "G": 1 << 30, "T": 1 << 40}
			if unit == "" {
				return classad.Int(int64(math.Ceil(num))), nil
			}
			if m, ok := mult[unit]; ok {
				return classad.Int(int64(math.Ceil(num * m / unitBytes))), nil
			}
		}
	}
	e, err := classad.ParseExpr(t, classad.Old)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a size (e.g. 2GB) nor a ClassAd expression: %v", v, err)
	}
	return e, nil
}

// versionAtLeast reports whether v ("25.14.1") is at least major.minor;
// an empty or unreadable v is not.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}
