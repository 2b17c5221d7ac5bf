package xrsl

import (
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// Write renders a job as user-dialect xRSL (times in minutes, memory and disk
// in MB). Alternatives are not written (as ARC's unparser drops them); a
// warning-free job parses back to the same job.
func Write(j jobdesc.Job) (string, error) {
	var b strings.Builder
	b.WriteString("&")
	rel := func(name, op string, vals ...string) {
		b.WriteString("\n (" + name + " " + op)
		for _, v := range vals {
			b.WriteString(" " + Quote(v))
		}
		b.WriteString(")")
	}
	seq := func(name string, entries [][]string) {
		if len(entries) == 0 {
			return
		}
		b.WriteString("\n (" + name + " =")
		for _, e := range entries {
			b.WriteString(" (")
			for i, v := range e {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(Quote(v))
			}
			b.WriteString(")")
		}
		b.WriteString(")")
	}
	if j.Executable.Path != "" {
		rel("executable", "=", j.Executable.Path)
	}
	if len(j.Executable.Args) > 0 {
		rel("arguments", "=", j.Executable.Args...)
	}
	if j.Name != "" {
		rel("jobname", "=", j.Name)
	}
	if j.Stdin != "" {
		rel("stdin", "=", j.Stdin)
	}
	if j.Stdout != "" {
		rel("stdout", "=", j.Stdout)
	}
	if j.Stderr != "" && !(j.Join && j.Stderr == j.Stdout) {
		rel("stderr", "=", j.Stderr)
	}
	if j.Join {
		rel("join", "=", "yes")
	}
	if j.LogDir != "" {
		rel("gmlog", "=", j.LogDir)
	}
	var env [][]string
	for _, e := range j.Environment {
		env = append(env, []string{e.Name, e.Value})
	}
	seq("environment", env)
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
	seq("inputfiles", ins)
	if len(execs) > 0 {
		rel("executables", "=", execs...)
	}
	var outs [][]string
	for _, f := range j.Outputs {
		e := []string{f.Name, ""}
		if len(f.Targets) > 0 {
			e = append([]string{f.Name}, locationValues(f.Targets[0])...)
		}
		outs = append(outs, e)
	}
	seq("outputfiles", outs)
	r := j.Resources
	if r.Benchmark != nil && r.Benchmark.Name != "clock rate" && r.CPUTime != 0 {
		seq("benchmarks", [][]string{{r.Benchmark.Name, strconv.FormatFloat(r.Benchmark.Value, 'g', -1, 64), FormatPeriod(r.CPUTime)}})
	} else if r.CPUTime != 0 {
		rel("cputime", "=", FormatPeriod(r.CPUTime))
	}
	if r.WallTime != 0 {
		rel("walltime", "=", FormatPeriod(r.WallTime))
	}
	if j.Lifetime != 0 {
		rel("lifetime", "=", FormatPeriod(j.Lifetime))
	}
	if r.MemoryMB != 0 {
		rel("memory", "=", strconv.FormatInt(r.MemoryMB, 10))
	}
	if r.DiskMB != 0 {
		rel("disk", "=", strconv.FormatInt(r.DiskMB, 10))
	}
	if r.Slots != 0 {
		rel("count", "=", strconv.Itoa(r.Slots))
	}
	if r.SlotsPerHost != 0 {
		rel("countpernode", "=", strconv.Itoa(r.SlotsPerHost))
	}
	if r.Exclusive != nil {
		rel("exclusiveexecution", "=", map[bool]string{true: "yes", false: "no"}[*r.Exclusive])
	}
	if r.Queue != "" {
		rel("queue", "=", r.Queue)
	}
	// queue != is a brokering hint for the submitting client; like ARC's
	// unparser, the written description does not carry it.
	soft := func(name string, list []jobdesc.Software) {
		for _, s := range list {
			op := s.Relation
			if op == "" {
				op = "="
			}
			rel(name, op, append([]string{s.Name}, s.Options...)...)
		}
	}
	soft("runtimeenvironment", r.RuntimeEnvironments)
	soft("middleware", r.Middleware)
	soft("opsys", r.OperatingSystem)
	if r.Architecture != "" {
		rel("architecture", "=", r.Architecture)
	}
	var na []string
	if r.NodeAccessInbound {
		na = append(na, "inbound")
	}
	if r.NodeAccessOutbound {
		na = append(na, "outbound")
	}
	if len(na) > 0 {
		rel("nodeaccess", "=", na...)
	}
	if j.Rerun != 0 {
		rel("rerun", "=", strconv.Itoa(j.Rerun))
	}
	if j.Priority != 0 {
		rel("priority", "=", strconv.Itoa(j.Priority))
	}
	if j.StartTime != "" {
		rel("starttime", "=", j.StartTime)
	}
	if j.DryRun {
		rel("dryrun", "=", "yes")
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
		rel("notify", "=", notes...)
	}
	for _, rl := range j.RemoteLogging {
		rel("jobreport", "=", rl.URL)
	}
	if j.CredentialServer != "" {
		rel("credentialserver", "=", j.CredentialServer)
	}
	if j.AccessControl != "" {
		rel("acl", "=", j.AccessControl)
	}
	if j.DelegationID != "" {
		rel("delegationid", "=", j.DelegationID)
	}
	for _, a := range j.Extra {
		if name, ok := strings.CutPrefix(a.Name, "xrsl:"); ok {
			rel(name, "=", a.Value)
		}
	}
	b.WriteString("\n")
	return b.String(), nil
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
