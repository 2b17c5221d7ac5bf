// Package jobs is the job lifecycle the job commands share, free of any
// command-line code: which jobs a selection names in the job list
// (Selection), working on them CE by CE in parallel with a deadline each
// (Runner.ForEachCE), asking and recording their states (Runner.Status),
// acting on them (Runner.Act), submitting to one CE with its delegation,
// dry run and recording (Submitter), putting what a CE created on the job
// list once each (Recorder), and reusing X.509 delegations (Delegations).
// Backends come from an injected function, so tests run all of it against
// pkg/ce/cetest's in-memory CE.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
)

// InputError is a selection the user got wrong (a usage error: exit 2).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(err error) error { return &InputError{Err: err} }

// Selection says which jobs a command works on.
type Selection struct {
	IDs    []string
	All    bool
	CEs    []string
	States []string
	// IDFile is -i: a file of job references, one per line (# comments).
	IDFile string
	// Descriptions: the jobs come with their descriptions (cat reads them).
	Descriptions bool
}

// ParseStates checks state names (any case) and writes them as the job list does.
func ParseStates(in []string) ([]string, error) {
	var out []string
	for _, v := range in {
		st, ok := ce.ParseState(v)
		if !ok {
			var names []string
			for _, st := range ce.States {
				names = append(names, string(st))
			}
			return nil, fmt.Errorf("--state %q: not a state; the states are %s", v, strings.Join(names, ", "))
		}
		out = append(out, string(st))
	}
	return out, nil
}

// Describe is the selection in words, for "no jobs matched".
func (s Selection) Describe() string {
	var parts []string
	if s.All {
		parts = append(parts, "-a")
	}
	for _, c := range s.CEs {
		parts = append(parts, "-C "+c)
	}
	if len(s.States) > 0 {
		parts = append(parts, "--state "+strings.Join(s.States, ","))
	}
	return strings.Join(parts, " ")
}

// readIDFile reads -i: one job reference per line; blank lines and lines
// starting with # are skipped.
func readIDFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, nil
}

// Resolve picks jobs from the job list. A reference is, in this order: a
// job id as listed; a job id URL of a known flavour not in the list (used
// as given); the CE's own id of a listed job (A-REX's id, HTCondor's
// cluster.proc); a prefix of one that only one listed job has; a job name
// (every listed job of that name). Errors the user can fix are InputErrors.
func (s Selection) Resolve(ctx context.Context, store *jobstore.Store) ([]jobstore.Job, error) {
	refs := s.IDs
	if s.IDFile != "" {
		more, err := readIDFile(s.IDFile)
		if err != nil {
			return nil, inputErr(fmt.Errorf("-i: %w", err))
		}
		if len(more) == 0 {
			return nil, inputErr(fmt.Errorf("-i %s: no job references in it", s.IDFile))
		}
		refs = append(append([]string(nil), refs...), more...)
	}
	if len(refs) == 0 && !s.All {
		return nil, inputErr(errors.New("give job ids (or bare CE ids, unique prefixes, job names), -i FILE, or -a/--all"))
	}
	states, err := ParseStates(s.States)
	if err != nil {
		return nil, inputErr(err)
	}
	filter := jobstore.Filter{States: states, WithDescription: s.Descriptions}
	onCE := map[string]bool{}
	for _, c := range s.CEs {
		addr, err := ce.ParseAddress(c, "")
		if err != nil {
			return nil, inputErr(err)
		}
		onCE[strings.TrimSuffix(addr.URL(), "/")] = true
		filter.CE = strings.TrimSuffix(addr.URL(), "/")
	}
	if len(onCE) > 1 {
		filter.CE = "" // several: filtered below
	}
	listed, err := store.List(ctx, filter)
	if err != nil {
		return nil, err
	}
	if len(onCE) > 1 {
		kept := listed[:0]
		for _, j := range listed {
			if onCE[j.CE] {
				kept = append(kept, j)
			}
		}
		listed = kept
	}
	if len(refs) == 0 {
		return listed, nil
	}
	var jobs []jobstore.Job
	taken := map[string]bool{}
	for _, ref := range refs {
		m, err := Match(ref, listed)
		if err != nil {
			return nil, inputErr(err)
		}
		if len(m) == 0 {
			flavour, endpoint, local, ok := ce.Backends.ParseJobID(ref)
			if !ok {
				return nil, inputErr(fmt.Errorf("job %q is not in the job list %s (as an id, a CE id, a unique prefix or a name) and is not a job id URL of a known flavour", ref, store.Path()))
			}
			m = []jobstore.Job{{ID: ref, LocalID: local, CE: endpoint, Flavour: string(flavour)}}
		}
		for _, j := range m {
			if !taken[j.ID] {
				taken[j.ID] = true
				jobs = append(jobs, j)
			}
		}
	}
	return jobs, nil
}

// Match finds the listed jobs a reference names (see Resolve).
func Match(ref string, listed []jobstore.Job) ([]jobstore.Job, error) {
	var byLocal, byPrefix, byName []jobstore.Job
	for _, j := range listed {
		switch {
		case j.ID == ref:
			return []jobstore.Job{j}, nil
		case j.LocalID == ref:
			byLocal = append(byLocal, j)
		case strings.HasPrefix(j.LocalID, ref) || strings.HasPrefix(j.ID, ref) && strings.Contains(ref, "://"):
			byPrefix = append(byPrefix, j)
		}
		if j.Name != "" && j.Name == ref {
			byName = append(byName, j)
		}
	}
	switch {
	case len(byLocal) == 1:
		return byLocal, nil
	case len(byLocal) > 1:
		return nil, fmt.Errorf("%q is the id of %d jobs on different CEs (%s): give the full job id", ref, len(byLocal), IDList(byLocal, 3))
	case len(byPrefix) == 1 && len(byName) == 0:
		return byPrefix, nil
	case len(byName) > 0:
		return byName, nil
	case len(byPrefix) > 1:
		return nil, fmt.Errorf("%q is the start of %d job ids (%s): give more of it", ref, len(byPrefix), IDList(byPrefix, 3))
	}
	return nil, nil
}

// IDList lists at most n job ids for a message.
func IDList(jobs []jobstore.Job, n int) string {
	var out []string
	for i, j := range jobs {
		if i == n {
			out = append(out, "…")
			break
		}
		out = append(out, j.ID)
	}
	return strings.Join(out, ", ")
}

// LocalIDs are the CE's own ids of jobs.
func LocalIDs(jobs []jobstore.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.LocalID
	}
	return out
}
