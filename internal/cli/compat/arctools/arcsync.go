package arctools

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/pkg/ce"
)

// syncOptions are arcsync's options.
type syncOptions struct {
	common
	ces      []string
	endpoint string
	force    bool
	truncate bool
}

func runSync(ctx context.Context, s *session, args []string) int {
	var o syncOptions
	fs := newFlags("")
	fs.StringArrayVarP(&o.ces, "computing-element", "C", nil, "the computing element to ask for jobs")
	fs.StringArrayVarP(&o.ces, "cluster", "c", nil, "the computing element to ask for jobs (as -C)")
	fs.StringVar(&o.endpoint, "submission-endpoint-type", "", "interface: arcrest or emies")
	fs.BoolVarP(&o.force, "force", "f", false, "do not ask for verification")
	fs.BoolVarP(&o.truncate, "truncate", "T", false, "truncate the joblist before synchronizing")
	o.addCommon(fs)
	if code, ok := s.parse(fs, &o.common, args); !ok {
		return code
	}
	if len(o.ces) == 0 {
		s.errorf("No computing element given (-C): cesub does not read the registry or the client.conf services")
		return 1
	}
	if !o.force && !s.confirmSync() {
		fmt.Fprintln(s.f.IO.Out, "Cancelling synchronization request")
		return 0
	}
	if err := s.open(ctx); err != nil {
		s.errorf("%v", err)
		return 1
	}
	defer s.close()
	found, queried, ok := s.listCEs(ctx, o)
	return s.writeSynced(ctx, found, queried, o.truncate, ok)
}

// confirmSync asks as arcsync does; y goes on.
func (s *session) confirmSync() bool {
	fmt.Fprint(s.f.IO.Out, "Synchronizing the local list of active jobs with the information in the\n"+
		"information system can result in some inconsistencies. Very recently submitted\n"+
		"jobs might not yet be present, whereas jobs very recently scheduled for\n"+
		"deletion can still be present.\nAre you sure you want to synchronize your local job list? [y/n] ")
	line, _ := bufio.NewReader(s.f.IO.In).ReadString('\n')
	return strings.ToLower(strings.TrimSpace(line)) == "y"
}

// listCEs asks each CE for the identity's jobs; queried are the CEs
// that answered (their URLs).
func (s *session) listCEs(ctx context.Context, o syncOptions) (out []arcjoblist.Job, queried []string, ok bool) {
	ok = true
	for _, arg := range o.ces {
		flavour := ce.Flavour("")
		if strings.Contains(strings.ToLower(o.endpoint), "emies") {
			flavour = ce.EMIES
		}
		addr, err := ce.ParseAddress(arg, flavour)
		var list []ce.Job
		if err == nil {
			cctx, cancel := s.f.Deadline(ctx, 3)
			var b ce.Backend
			if b, err = s.backend(cctx, addr); err == nil {
				list, err = b.List(cctx)
			}
			cancel()
		}
		if err != nil {
			s.errorf("Failed retrieving information from %s: %v", arg, err)
			ok = false
			continue
		}
		queried = append(queried, addr.URL())
		for _, j := range list {
			out = append(out, arcjoblist.Job{ID: j.ID, IDFromEndpoint: j.LocalID, Name: j.Name, Interface: interfaceOf(j.Flavour),
				ServiceURL: j.CE})
		}
	}
	return out, queried, ok
}

// writeSynced adds the jobs not on ARC's list (all of them, the list
// emptied first, with truncate) and says which; without truncate it drops
// the listed jobs of the CEs that answered that they no longer hold.
func (s *session) writeSynced(ctx context.Context, found []arcjoblist.Job, queried []string, truncate, ok bool) int {
	known := map[string]bool{}
	if !truncate {
		have, err := arcjoblist.Read(ctx, s.arcList)
		if err != nil {
			fmt.Fprintf(s.f.IO.ErrOut, "Warning: Unable to read local list of jobs from file (%s)\n", s.arcList)
			return 1
		}
		for _, j := range have {
			known[j.ServiceURL+" "+j.IDFromEndpoint] = true
		}
		if gone := pruned(have, found, queried); len(gone) > 0 {
			_ = arcjoblist.Remove(ctx, s.arcList, gone...)
		}
	} else if have, err := arcjoblist.Read(ctx, s.arcList); err == nil {
		ids := make([]string, len(have))
		for i, j := range have {
			ids[i] = j.ID
		}
		_ = arcjoblist.Remove(ctx, s.arcList, ids...)
	}
	var added []arcjoblist.Job
	for _, j := range found {
		if !known[j.ServiceURL+" "+j.IDFromEndpoint] {
			added = append(added, j)
		}
	}
	if err := arcjoblist.Add(ctx, s.arcList, added...); err != nil {
		fmt.Fprintf(s.f.IO.Out, "ERROR: Failed to write job information to file (%s)\n", s.arcList)
		return 1
	}
	what := "new jobs"
	if truncate {
		what = "jobs"
	}
	for i, j := range added {
		if i == 0 {
			fmt.Fprintf(s.f.IO.Out, "Found the following %s:\n", what)
		}
		if j.Name != "" {
			fmt.Fprintf(s.f.IO.Out, "%s (%s)\n", oneLine(j.Name), j.ID)
		} else {
			fmt.Fprintln(s.f.IO.Out, j.ID)
		}
	}
	fmt.Fprintf(s.f.IO.Out, "Total number of %s found: %d\n", what, len(added))
	return exitIf(!ok)
}

// pruned are the ids of the listed jobs (have) on a CE that answered
// (queried) which that CE no longer holds (not in found), as ARC's arcsync
// prunes them; nothing when no CE listed a job (ARC writes nothing then).
func pruned(have, found []arcjoblist.Job, queried []string) []string {
	if len(found) == 0 {
		return nil
	}
	listed := map[string]bool{}
	for _, j := range found {
		listed[j.ServiceURL+" "+j.IDFromEndpoint] = true
	}
	var gone []string
	for _, j := range have {
		if listed[j.ServiceURL+" "+j.IDFromEndpoint] {
			continue
		}
		for _, q := range queried {
			if onCluster(j, q) {
				gone = append(gone, j.ID)
				break
			}
		}
	}
	return gone
}
