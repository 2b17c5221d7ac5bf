package jobdesc

import "strings"

// PrepareForARC applies what arcsub does to a description before sending it
// to A-REX: a relative executable or stdin becomes an input the client
// uploads (the executable marked executable); stdout, stderr and the gmlog
// directory become outputs kept in the session directory, since A-REX deletes
// at FINISHING whatever is not listed; join is resolved (stderr = stdout).
func PrepareForARC(j Job) Job {
	out := j
	out.Inputs = append([]InputFile(nil), j.Inputs...)
	out.Outputs = append([]OutputFile(nil), j.Outputs...)
	local := func(p string) bool {
		return p != "" && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "$") && !strings.Contains(p, "://")
	}
	addInput := func(name string, exec bool) {
		for i := range out.Inputs {
			if out.Inputs[i].Name == name {
				out.Inputs[i].IsExecutable = out.Inputs[i].IsExecutable || exec
				return
			}
		}
		out.Inputs = append(out.Inputs, InputFile{Name: name, IsExecutable: exec})
	}
	if local(j.Executable.Path) {
		addInput(j.Executable.Path, true)
	}
	if local(j.Stdin) {
		addInput(j.Stdin, false)
	}
	if j.Join && j.Stdout != "" {
		out.Stderr = j.Stdout
	}
	addOutput := func(name string) {
		for _, o := range out.Outputs {
			if o.Name == name {
				return
			}
		}
		out.Outputs = append(out.Outputs, OutputFile{Name: name})
	}
	if local(out.Stdout) {
		addOutput(out.Stdout)
	}
	if local(out.Stderr) {
		addOutput(out.Stderr)
	}
	if out.LogDir != "" {
		addOutput(strings.TrimSuffix(out.LogDir, "/") + "/")
	}
	return out
}
