package arctools

import (
	"context"
	"fmt"

	"github.com/cesub/cesub/pkg/ce"
)

// catOptions are arccat's options.
type catOptions struct {
	manageOptions
	stdout, stderr, log bool
	file                string
}

func runCat(ctx context.Context, s *session, args []string) int {
	var o catOptions
	fs := newFlags("[job ...]")
	o.sel.add(fs, true)
	fs.BoolVarP(&o.stdout, "stdout", "o", false, "show the stdout of the job (default)")
	fs.BoolVarP(&o.stderr, "stderr", "e", false, "show the stderr of the job")
	fs.BoolVarP(&o.log, "joblog", "l", false, "show the CE's error log of the job")
	fs.StringVarP(&o.file, "file", "f", "", "show the specified file from job's session directory")
	o.addCommon(fs)
	if code, ok := s.parse(fs, &o.common, args); !ok {
		return code
	}
	list, code, ok := s.pickStated(ctx, fs.Args(), &o.manageOptions)
	if !ok {
		return code
	}
	defer s.close()
	if len(list) == 0 {
		fmt.Fprintln(s.f.IO.Out, "No jobs")
		return 1
	}
	code = 0
	for _, st := range list {
		if !s.catOne(ctx, st, o) {
			code = 1
		}
	}
	return code
}

// catOne prints one job's stdout, stderr or log.
func (s *session) catOne(ctx context.Context, st jobState, o catOptions) bool {
	if st.job == nil || st.general == "Deleted" {
		fmt.Fprintf(s.f.IO.ErrOut, "WARNING: Job deleted: %s\n", st.arc.ID)
		return false
	}
	rec := record(st.arc)
	b, _, err := s.backendOf(ctx, rec.CE, rec.Flavour)
	if err != nil {
		s.errorf("%v", err)
		return false
	}
	cctx, cancel := s.f.Deadline(ctx, 3)
	defer cancel()
	w := s.f.IO.DataOut()
	switch {
	case o.log:
		lr, ok := b.(ce.LogReader)
		if !ok {
			s.errorf("Cannot determine the joblog location: %s", st.arc.ID)
			return false
		}
		err = lr.JobLog(cctx, rec.LocalID, w)
	default:
		path, what := st.arc.StdOut, "stdout"
		if o.stderr {
			path, what = st.arc.StdErr, "stderr"
		}
		if o.file != "" {
			path, what = o.file, o.file
		}
		if path == "" {
			s.errorf("Cannot determine the %s location: %s", what, st.arc.ID)
			return false
		}
		err = b.Cat(cctx, rec.LocalID, path, w)
	}
	if err != nil {
		s.errorf("%s: %v", st.arc.ID, err)
		return false
	}
	return true
}
