package xrsl

import (
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// Write renders a job as user-dialect xRSL (times in minutes, memory and disk
// in MB). Alternatives are not written (as ARC's unparser drops them); a
// warning-free job parses back to the same job.
func Write(j jobdesc.Job) (string, error) {
	w := &writer{}
	w.b.WriteString("&")
	w.program(j)
	w.files(j)
	w.resources(j.Resources, j.Lifetime)
	w.options(j)
	w.b.WriteString("\n")
	return w.b.String(), nil
}

// writer writes relations, one a line.
type writer struct{ b strings.Builder }

// rel writes (name op "v1" "v2" …).
func (w *writer) rel(name, op string, vals ...string) {
	w.b.WriteString("\n (" + name + " " + op)
	for _, v := range vals {
		w.b.WriteString(" " + Quote(v))
	}
	w.b.WriteString(")")
}

// set writes (name = "v") when v is not empty.
func (w *writer) set(name, v string) {
	if v != "" {
		w.rel(name, "=", v)
	}
}

// setInt writes (name = "n") when n is not 0.
func (w *writer) setInt(name string, n int64) {
	if n != 0 {
		w.rel(name, "=", strconv.FormatInt(n, 10))
	}
}

// seq writes (name = ("a" "b") ("c" "d") …) when there are entries.
func (w *writer) seq(name string, entries [][]string) {
	if len(entries) == 0 {
		return
	}
	w.b.WriteString("\n (" + name + " =")
	for _, e := range entries {
		w.b.WriteString(" (")
		for i, v := range e {
			if i > 0 {
				w.b.WriteByte(' ')
			}
			w.b.WriteString(Quote(v))
		}
		w.b.WriteString(")")
	}
	w.b.WriteString(")")
}

// program writes what runs: the executable, its arguments, name, standard
// streams, log directory and environment.
func (w *writer) program(j jobdesc.Job) {
	w.set("executable", j.Executable.Path)
	if len(j.Executable.Args) > 0 {
		w.rel("arguments", "=", j.Executable.Args...)
	}
	w.set("jobname", j.Name)
	w.set("stdin", j.Stdin)
	w.set("stdout", j.Stdout)
	if !(j.Join && j.Stderr == j.Stdout) {
		w.set("stderr", j.Stderr)
	}
	if j.Join {
		w.rel("join", "=", "yes")
	}
	w.set("gmlog", j.LogDir)
	var env [][]string
	for _, e := range j.Environment {
		env = append(env, []string{e.Name, e.Value})
	}
	w.seq("environment", env)
}

// files writes inputfiles, executables and outputfiles.
func (w *writer) files(j jobdesc.Job) {
	var ins [][]string
	var execs []string
	for _, f := range j.Inputs {
		local := f.LocalPath
		if local == f.Name {
			local = "" // uploaded from the file of the same name
		}
		e := []string{f.Name, local}
		if len(f.Sources) > 0 {
			e = append([]string{f.Name}, locationValues(f.Sources[0])...)
		}
		ins = append(ins, e)
		if f.IsExecutable {
			execs = append(execs, f.Name)
		}
	}
	w.seq("inputfiles", ins)
	if len(execs) > 0 {
		w.rel("executables", "=", execs...)
	}
	var outs [][]string
	for _, f := range j.Outputs {
		e := []string{f.Name, ""}
		if len(f.Targets) > 0 {
			e = append([]string{f.Name}, locationValues(f.Targets[0])...)
		}
		outs = append(outs, e)
	}
	w.seq("outputfiles", outs)
}

// resources writes times, sizes, slots, the queue and what the job needs
// of the worker node.
func (w *writer) resources(r jobdesc.Resources, lifetime time.Duration) {
	if r.Benchmark != nil && r.Benchmark.Name != "clock rate" && r.CPUTime != 0 {
		w.seq("benchmarks", [][]string{{r.Benchmark.Name, strconv.FormatFloat(r.Benchmark.Value, 'g', -1, 64), FormatPeriod(r.CPUTime)}})
	} else if r.CPUTime != 0 {
		w.rel("cputime", "=", FormatPeriod(r.CPUTime))
	}
	if r.WallTime != 0 {
		w.rel("walltime", "=", FormatPeriod(r.WallTime))
	}
	if lifetime != 0 {
		w.rel("lifetime", "=", FormatPeriod(lifetime))
	}
	w.setInt("memory", r.MemoryMB)
	w.setInt("disk", r.DiskMB)
	w.setInt("count", int64(r.Slots))
	w.setInt("countpernode", int64(r.SlotsPerHost))
	if r.Exclusive != nil {
		w.rel("exclusiveexecution", "=", map[bool]string{true: "yes", false: "no"}[*r.Exclusive])
	}
	// queue != is a brokering hint for the submitting client; like ARC's
	// unparser, the written description does not carry it.
	w.set("queue", r.Queue)
	w.software("runtimeenvironment", r.RuntimeEnvironments)
	w.software("middleware", r.Middleware)
	w.software("opsys", r.OperatingSystem)
	w.set("architecture", r.Architecture)
	var na []string
	if r.NodeAccessInbound {
		na = append(na, "inbound")
	}
	if r.NodeAccessOutbound {
		na = append(na, "outbound")
	}
	if len(na) > 0 {
		w.rel("nodeaccess", "=", na...)
	}
}

// software writes one relation per item of list.
func (w *writer) software(name string, list []jobdesc.Software) {
	for _, s := range list {
		op := s.Relation
		if op == "" {
			op = "="
		}
		w.rel(name, op, append([]string{s.Name}, s.Options...)...)
	}
}

// options writes the rest: reruns, priority, start, dry run,
// notifications, reporting, credentials and the attributes kept as they
// came (xrsl:NAME).
func (w *writer) options(j jobdesc.Job) {
	w.setInt("rerun", int64(j.Rerun))
	w.setInt("priority", int64(j.Priority))
	w.set("starttime", j.StartTime)
	if j.DryRun {
		w.rel("dryrun", "=", "yes")
	}
	var notes []string
	for _, n := range j.Notifications {
		flags := ""
		for _, s := range n.States {
			for f, st := range stateFlags {
				if st == s {
					flags += string(f)
				}
			}
		}
		notes = append(notes, strings.TrimSpace(flags+" "+n.Email))
	}
	if len(notes) > 0 {
		w.rel("notify", "=", notes...)
	}
	for _, rl := range j.RemoteLogging {
		w.rel("jobreport", "=", rl.URL)
	}
	w.set("credentialserver", j.CredentialServer)
	w.set("acl", j.AccessControl)
	w.set("delegationid", j.DelegationID)
	for _, a := range j.Extra {
		if name, ok := strings.CutPrefix(a.Name, "xrsl:"); ok {
			w.rel(name, "=", a.Value)
		}
	}
}

func locationValues(l jobdesc.Location) []string {
	out := []string{l.URL}
	for _, o := range l.Options {
		out = append(out, o.Name+"="+o.Value)
	}
	if l.DelegationID != "" {
		out = append(out, "delegationid="+l.DelegationID)
	}
	for _, x := range l.Locations {
		out = append(out, "location="+x.URL)
		for _, o := range x.Options {
			out = append(out, o.Name+"="+o.Value)
		}
	}
	return out
}
