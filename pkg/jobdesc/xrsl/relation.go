package xrsl

import (
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// stringFields are the attributes whose single value is one string field of
// the job.
var stringFields = map[string]func(j *jobdesc.Job) *string{
	"executable":       func(j *jobdesc.Job) *string { return &j.Executable.Path },
	"stdin":            func(j *jobdesc.Job) *string { return &j.Stdin },
	"stdout":           func(j *jobdesc.Job) *string { return &j.Stdout },
	"stderr":           func(j *jobdesc.Job) *string { return &j.Stderr },
	"gmlog":            func(j *jobdesc.Job) *string { return &j.LogDir },
	"jobname":          func(j *jobdesc.Job) *string { return &j.Name },
	"starttime":        func(j *jobdesc.Job) *string { return &j.StartTime },
	"architecture":     func(j *jobdesc.Job) *string { return &j.Resources.Architecture },
	"credentialserver": func(j *jobdesc.Job) *string { return &j.CredentialServer },
}

// relation applies one attribute to the draft: a string field, or the
// attribute's own step below.
func (d *decoder) relation(r *Relation, dr *draft) {
	j := &dr.job
	if field, ok := stringFields[r.Name]; ok {
		if v, ok := d.single(r, dr); ok {
			*field(j) = v
		}
		return
	}
	switch r.Name {
	case "arguments":
		if vs, ok := d.literals(r); ok && d.once(r, dr) {
			j.Executable.Args = vs
		}
	case "inputfiles", "outputfiles":
		d.files(r, dr)
	case "executables", "cache", "ftpthreads", "join", "gridtime", "countpernode":
		d.pend(r, dr)
	case "delegationid":
		if v, ok := d.single(r, dr); ok && d.requireEqual(r) {
			j.DelegationID = v
		}
	case "queue":
		d.queue(r, dr)
	case "lifetime", "cputime", "walltime":
		d.period(r, dr)
	case "benchmarks":
		d.benchmarks(r, dr)
	case "memory", "disk":
		d.megabytes(r, dr)
	case "runtimeenvironment", "middleware", "opsys":
		d.software(r, dr)
	case "nodeaccess":
		d.nodeAccess(r, dr)
	case "count", "rerun", "priority":
		d.integer(r, dr)
	case "exclusiveexecution":
		d.exclusive(r, dr)
	case "dryrun":
		if v, ok := d.single(r, dr); ok {
			j.DryRun = strings.EqualFold(v, "yes")
		}
	case "environment":
		for _, e := range d.sequences(r, 2) {
			j.Environment = append(j.Environment, jobdesc.EnvVar{Name: e[0], Value: e[1]})
		}
	case "notify":
		d.notify(r, dr)
	case "jobreport":
		if v, ok := d.single(r, dr); ok {
			j.RemoteLogging = append(j.RemoteLogging, jobdesc.RemoteLogging{Type: "SGAS", URL: v})
		}
	case "acl": // repeatable in the manual; ARC keeps the last
		if vs, ok := d.literals(r); ok && len(vs) == 1 {
			j.AccessControl = vs[0]
		} else if ok {
			d.errf(r.Pos, "attribute \"acl\" takes a single value, found %d", len(vs))
		}
	case "rslsubstitution":
		// handled by Evaluate
	default:
		d.extra(r, dr)
	}
}

// extra keeps the attributes cesub passes on as they are, and warns about
// those it ignores.
func (d *decoder) extra(r *Relation, dr *draft) {
	j := &dr.job
	switch r.Name {
	case "replicacollection": // repeatable in the manual
		if vs, ok := d.literals(r); ok {
			for _, v := range vs {
				j.Extra = append(j.Extra, jobdesc.Attr{Name: "xrsl:" + r.Name, Value: v})
			}
		}
	case "hostname", "jobid", "clientxrsl", "clientsoftware", "savestate":
		if v, ok := d.single(r, dr); ok {
			j.Extra = append(j.Extra, jobdesc.Attr{Name: "xrsl:" + r.Name, Value: v})
		}
	case "action":
		if d.dialect != GridManager {
			d.errf(r.Pos, "attribute \"action\" is not allowed in a user-side job description (it is A-REX's internal dialect)")
			return
		}
		if v, ok := d.single(r, dr); ok {
			j.Extra = append(j.Extra, jobdesc.Attr{Name: "xrsl:action", Value: v})
		}
	case "cluster":
		d.warnf(r.Pos, r.Attr, "attribute %q is not supported by ARC clients; ignored", r.Attr)
	case "resourcemanagercontact", "directory", "maxcputime", "maxwalltime", "maxtime", "maxmemory", "minmemory",
		"grammyjob", "project", "hostcount", "label", "subjobcommstype", "subjobstarttype", "filecleanup",
		"filestagein", "filestageinshared", "filestageout", "gasscache", "jobtype", "librarypath", "remoteiourl", "scratchdir":
		d.warnf(r.Pos, r.Attr, "Globus RSL attribute %q is not supported by xRSL; ignored", r.Attr)
	default:
		d.warnf(r.Pos, r.Attr, "unknown xRSL attribute %q; ignored", r.Attr)
		vs, _ := d.literals(r)
		j.Extra = append(j.Extra, jobdesc.Attr{Name: "xrsl:" + r.Attr, Value: strings.Join(vs, " ")})
	}
}

// files reads inputfiles or outputfiles, once.
func (d *decoder) files(r *Relation, dr *draft) {
	if !d.once(r, dr) {
		return
	}
	for _, e := range d.sequences(r, 0) {
		if r.Name == "inputfiles" {
			if f, ok := d.inputFile(r, e); ok {
				dr.job.Inputs = append(dr.job.Inputs, f)
			}
		} else if f, ok := d.outputFile(r, e); ok {
			dr.job.Outputs = append(dr.job.Outputs, f)
		}
	}
}

// pend keeps an attribute that is resolved after all others (finish).
func (d *decoder) pend(r *Relation, dr *draft) {
	if r.Name == "executables" {
		if !d.once(r, dr) {
			return
		}
	} else if _, ok := d.single(r, dr); !ok {
		return
	}
	dr.pending[r.Name] = r
}

// queue reads queue=NAME (once) and queue!=NAME (any number of times; not in
// A-REX's dialect).
func (d *decoder) queue(r *Relation, dr *draft) {
	j := &dr.job
	if r.Op == "!=" { // several queue!= are fine
		if vs, ok := d.literals(r); ok && len(vs) == 1 {
			j.Resources.RejectQueues = append(j.Resources.RejectQueues, vs[0])
		} else if ok {
			d.errf(r.Pos, "attribute \"queue\" takes a single value, found %d", len(vs))
		}
		if d.dialect == GridManager {
			d.errf(r.OpPos, "attribute \"queue\" allows only '=' in A-REX's dialect, found %q", r.Op)
		}
		return
	}
	v, ok := d.single(r, dr)
	if !ok {
		return
	}
	if d.dialect == GridManager && r.Op != "=" {
		d.errf(r.OpPos, "attribute \"queue\" allows only '=' in A-REX's dialect, found %q", r.Op)
		return
	}
	switch r.Op {
	case "=":
		j.Resources.Queue = v
	default:
		d.errf(r.OpPos, "attribute \"queue\" allows '=' or '!=', found %q", r.Op)
	}
}

// period reads lifetime, cputime and walltime.
func (d *decoder) period(r *Relation, dr *draft) {
	v, ok := d.single(r, dr)
	if !ok {
		return
	}
	p, err := ParsePeriod(v, d.timeBase())
	if err != nil {
		d.errf(r.Values[0].Position(), "attribute %q: %v", r.Attr, err)
		return
	}
	switch r.Name {
	case "lifetime":
		dr.job.Lifetime = p
	case "cputime":
		dr.job.Resources.CPUTime = p
	case "walltime":
		dr.job.Resources.WallTime = p
	}
}

// benchmarks reads the first well-formed (name value time) of benchmarks.
func (d *decoder) benchmarks(r *Relation, dr *draft) {
	if !d.once(r, dr) {
		return
	}
	for _, e := range d.sequences(r, 3) {
		val, err := strconv.ParseFloat(e[1], 64)
		if err != nil {
			d.errf(r.Pos, "attribute %q: benchmark value %q is not a number", r.Attr, e[1])
			continue
		}
		p, err := ParsePeriod(e[2], d.timeBase())
		if err != nil {
			d.errf(r.Pos, "attribute %q: %v", r.Attr, err)
			continue
		}
		dr.job.Resources.CPUTime = p
		dr.job.Resources.Benchmark = &jobdesc.Benchmark{Name: e[0], Value: val}
		return
	}
}

// megabytes reads memory and disk.
func (d *decoder) megabytes(r *Relation, dr *draft) {
	var v string
	var ok bool
	if r.Name == "disk" { // the manual allows disk>=a (disk<=b): keep the lower bound
		var vs []string
		if vs, ok = d.literals(r); ok && len(vs) == 1 {
			v = vs[0]
		} else if ok {
			d.errf(r.Pos, "attribute %q takes a single value, found %d", r.Attr, len(vs))
			return
		}
		if r.Op == "<" || r.Op == "<=" {
			return
		}
	} else if v, ok = d.single(r, dr); !ok {
		return
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		d.errf(r.Values[0].Position(), "attribute %q: %q is not a whole number of megabytes", r.Attr, v)
		return
	}
	if r.Name == "memory" {
		dr.job.Resources.MemoryMB = n
	} else {
		dr.job.Resources.DiskMB = n
	}
}

// software reads runtimeenvironment, middleware and opsys (repeatable).
func (d *decoder) software(r *Relation, dr *draft) {
	vs, ok := d.literals(r)
	if !ok {
		return
	}
	if len(vs) == 0 || vs[0] == "" {
		d.errf(r.Pos, "attribute %q needs a name", r.Attr)
		return
	}
	sw := jobdesc.Software{Name: vs[0], Relation: r.Op, Options: vs[1:]}
	if sw.Relation == "=" {
		sw.Relation = ""
	}
	res := &dr.job.Resources
	switch r.Name {
	case "runtimeenvironment":
		res.RuntimeEnvironments = append(res.RuntimeEnvironments, sw)
	case "middleware":
		res.Middleware = append(res.Middleware, sw)
	default:
		res.OperatingSystem = append(res.OperatingSystem, sw)
	}
}

// nodeAccess reads nodeaccess: inbound, outbound or both.
func (d *decoder) nodeAccess(r *Relation, dr *draft) {
	vs, ok := d.literals(r)
	if !ok || !d.once(r, dr) {
		return
	}
	for _, v := range vs {
		switch v {
		case "inbound":
			dr.job.Resources.NodeAccessInbound = true
		case "outbound":
			dr.job.Resources.NodeAccessOutbound = true
		default:
			d.errf(r.Pos, "attribute \"nodeaccess\": %q is neither inbound nor outbound", v)
		}
	}
}

// integer reads count, rerun and priority (at most 100).
func (d *decoder) integer(r *Relation, dr *draft) {
	v, ok := d.single(r, dr)
	if !ok {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		d.errf(r.Values[0].Position(), "value of %q must be a non-negative integer, found %q", r.Attr, v)
		return
	}
	switch r.Name {
	case "count":
		dr.job.Resources.Slots = n
	case "rerun":
		dr.job.Rerun = n
	case "priority":
		if n > 100 {
			d.warnf(r.Pos, r.Attr, "priority %d is above 100; using 100", n)
			n = 100
		}
		dr.job.Priority = n
	}
}

// exclusive reads exclusiveexecution: yes or no.
func (d *decoder) exclusive(r *Relation, dr *draft) {
	v, ok := d.single(r, dr)
	if !ok {
		return
	}
	switch strings.ToLower(v) {
	case "yes", "true":
		dr.job.Resources.Exclusive = jobdesc.Bool(true)
	case "no", "false":
		dr.job.Resources.Exclusive = jobdesc.Bool(false)
	default:
		d.errf(r.Values[0].Position(), "value of \"exclusiveexecution\" must be yes or no, found %q", v)
	}
}

// notify reads notify, once: "[flags] email" values.
func (d *decoder) notify(r *Relation, dr *draft) {
	vs, ok := d.literals(r)
	if !ok || !d.once(r, dr) {
		return
	}
	for _, v := range vs {
		if err := addNotify(&dr.job.Notifications, v); err != nil {
			d.errf(r.Pos, "attribute \"notify\" (%q): %v", v, err)
		}
	}
}
