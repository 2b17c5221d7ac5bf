package arctools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// runRenew is arcrenew: the local proxy is put into the delegations of the
// selected jobs (each job's delegation ids from the job list), renewed in
// place so the running jobs get it. Like arcrenew it takes the jobs the CEs
// know, passes over ended ones, needs a proxy when a job is left to renew,
// and counts a job renewed when all its delegations were.
func runRenew(ctx context.Context, s *session, args []string) int {
	var o manageOptions
	fs := newFlags("[job ...]")
	o.sel.add(fs, true)
	o.addCommon(fs)
	if code, ok := s.parse(fs, &o.common, args); !ok {
		return code
	}
	all, code, ok := s.pickStated(ctx, fs.Args(), &o)
	if !ok {
		return code
	}
	defer s.close()
	var list []jobState
	for _, st := range all {
		if st.job != nil { // arcrenew renews the jobs their CE answered for
			list = append(list, st)
		}
	}
	if s.noJobs(list) {
		return 1
	}
	act := actionable(list) // ended jobs are passed over, as ARC does: no failure
	if delegated(act) {
		if msg, w := s.proxyProblem(); msg != "" {
			fmt.Fprintln(w, msg)
			return 1
		}
	}
	renewed, failed := s.renew(ctx, act)
	fmt.Fprintf(s.f.IO.Out, "Jobs processed: %d, renewed: %d\n", len(list), renewed)
	return exitIf(failed > 0)
}

// delegated: some job has a delegation to renew.
func delegated(list []jobState) bool {
	for _, st := range list {
		if strings.TrimSpace(st.arc.DelegationID) != "" {
			return true
		}
	}
	return false
}

// proxyProblem is what arcrenew prints, and where, when there is no proxy
// or it has expired ("" when the proxy is good). Without a proxy, a
// certificate or a key, ARC's client configuration itself fails.
func (s *session) proxyProblem() (string, io.Writer) {
	cred, err := x509proxy.LoadProxy(s.f.ProxyPath())
	switch {
	case errors.Is(err, fs.ErrNotExist) && !s.haveUserCert():
		return "ERROR: Failed configuration initialization", s.f.IO.ErrOut
	case errors.Is(err, fs.ErrNotExist):
		return "Cannot find any proxy. This application currently cannot run without a proxy.\n" +
			"  If you have the proxy file in a non-default location,\n" +
			"  please make sure the path is specified in the client configuration file.\n" +
			"  If you don't have a proxy yet, please run 'arcproxy'!", s.f.IO.Out
	case err == nil && cred.NotAfter().Before(s.f.Now()):
		return "Proxy expired. Job submission aborted. Please run 'arcproxy'!", s.f.IO.Out
	}
	return "", nil // a proxy that cannot be read fails at the delegation, with its reason
}

// haveUserCert: the user certificate and key files exist.
func (s *session) haveUserCert() bool {
	cert, key := s.f.UserCertPaths()
	_, errc := os.Stat(cert)
	_, errk := os.Stat(key)
	return errc == nil && errk == nil
}

// renew renews each job's delegations on its CE, each delegation once; it
// returns how many jobs had all theirs renewed and how many failed (a job
// without a delegation is neither: ARC passes it over).
func (s *session) renew(ctx context.Context, list []jobState) (renewed, failed int) {
	deleg := s.f.Delegations(s.store)
	done := map[string]error{} // CE + delegation id: the outcome
	for _, st := range list {
		ids := strings.Fields(st.arc.DelegationID)
		if len(ids) == 0 {
			s.f.Infof("Job %s has no delegation associated. Can't renew such job.", st.arc.ID)
			continue
		}
		ok := true
		for _, id := range ids {
			ok = s.renewOne(ctx, deleg, st, id, done) && ok
		}
		if ok {
			renewed++
		} else {
			failed++
		}
	}
	return renewed, failed
}

// renewOne renews delegation id of job st's CE (once per CE and id).
func (s *session) renewOne(ctx context.Context, deleg *jobs.Delegations, st jobState, id string, done map[string]error) bool {
	key := st.arc.ServiceURL + " " + id
	err, seen := done[key]
	if !seen {
		err = s.renewAt(ctx, deleg, st, id)
		done[key] = err
	}
	if err != nil {
		s.f.Infof("Job %s failed to renew delegation %s: %v", st.arc.ID, id, err)
		return false
	}
	return true
}

// renewAt renews delegation id on the CE of job st.
func (s *session) renewAt(ctx context.Context, deleg *jobs.Delegations, st jobState, id string) error {
	rec := record(st.arc)
	cctx, cancel := s.f.Deadline(ctx, 1)
	defer cancel()
	b, _, err := s.backendOf(cctx, rec.CE, rec.Flavour)
	if err != nil {
		return err
	}
	return deleg.Renew(cctx, b, id)
}
