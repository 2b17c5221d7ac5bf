package condortools

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/classad"
)

// runTransfer is condor_transfer_data: the output sandboxes of the jobs
// named (ids, -constraint, -all) are fetched into each job's submit
// folder (SUBMIT_Iwd), as the real tool writes them; exit 1 if any failed.
func runTransfer(ctx context.Context, f *cmdutil.Factory, list []string) int {
	o, err := parseTransferArgs(list)
	if err != nil {
		fmt.Fprintln(f.IO.ErrOut, err)
		return 1
	}
	s, ok := connect(ctx, f, o.target)
	if !ok {
		return 1
	}
	defer s.close()
	c := o.constraintExpr("")
	if o.all {
		c = "true"
	}
	ads, err := s.c.QueryAds(ctx, c, []string{"ClusterId", "ProcId", "JobStatus", "SUBMIT_Iwd", "Iwd"})
	if err != nil {
		errorf(f, "%v", err)
		return 1
	}
	fmt.Fprintln(f.IO.Out, "Fetching data files...") // no job matching is no error, as the real tool has it
	code := 0
	for _, ad := range ads {
		if err := fetchInto(ctx, s, ad); err != nil {
			errorf(f, "%s: %v", jobID(ad), err)
			code = 1
		}
	}
	return code
}

func parseTransferArgs(list []string) (*transferOpts, error) {
	o := &transferOpts{}
	a := &args{list: list}
	for {
		arg, ok := a.next()
		if !ok {
			break
		}
		sel, err := o.selects(a, arg, 1)
		switch {
		case sel:
		case isOpt(arg, "all", 2):
			o.all = true
		default:
			return nil, fmt.Errorf("Unrecognized option: %s", arg)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", arg, err)
		}
	}
	if len(o.ids)+len(o.owners)+len(o.constraint) == 0 && !o.all {
		return nil, fmt.Errorf("You did not specify any jobs")
	}
	o.allUsers = true
	return o, nil
}

type transferOpts struct {
	qOpts
	all bool
}

// fetchInto downloads one job's sandbox through the backend (into a fresh
// folder cesub makes, see dlfs) and moves its top-level files into the
// job's submit folder, replacing files of the same name as the real tool
// does.
func fetchInto(ctx context.Context, s *session, ad *classad.Ad) error {
	dest := submitDir(ad)
	tmp, err := os.MkdirTemp(dest, ".cesub-transfer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	into := filepath.Join(tmp, "job")
	if _, err := s.c.Get(ctx, jobID(ad), ce.GetOptions{Dir: into}); err != nil {
		return err
	}
	ents, err := os.ReadDir(into)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := os.Rename(filepath.Join(into, e.Name()), filepath.Join(dest, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// submitDir is where the job was submitted from, if that folder is here;
// else the working directory.
func submitDir(ad *classad.Ad) string {
	for _, a := range []string{"SUBMIT_Iwd", "Iwd"} {
		if d, ok := ad.Str(a); ok && filepath.IsAbs(d) {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				return d
			}
		}
	}
	return "."
}
