package arctools

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
)

// session is one run of an emulated tool: the factory, ARC's job list,
// and, once a CE is to be reached, cesub's own job list (the API
// versions and delegations it remembers per CE) and the token settings.
type session struct {
	f       *cmdutil.Factory
	tool    string
	arcList string // ARC's job list file

	store    *jobstore.Store
	tokens   *cmdutil.Tokens
	mu       sync.Mutex
	backends map[string]ce.Backend
}

// joblistFromConf is the joblist option of the [common] section of the
// ARC client configuration (conf, or ~/.arc/client.conf), else ~/.arc/jobs.dat.
func joblistFromConf(conf, home string) string {
	if conf == "" {
		conf = filepath.Join(home, ".arc", "client.conf")
	}
	if fh, err := os.Open(conf); err == nil {
		defer fh.Close()
		section := ""
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, "[") {
				section = strings.Trim(line, "[] ")
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if ok && section == "common" && strings.TrimSpace(k) == "joblist" {
				return strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	return arcjoblist.DefaultPath(home)
}

// open readies the CE side: cesub's job list and the token settings.
func (s *session) open(ctx context.Context) error {
	if s.store != nil {
		return nil
	}
	store, err := s.f.JobList(ctx)
	if err != nil {
		return err
	}
	tokens, err := s.f.Tokens()
	if err != nil {
		store.Close()
		return err
	}
	s.store, s.tokens = store, tokens
	return nil
}

// close releases cesub's job list.
func (s *session) close() {
	if s.store != nil {
		s.store.Close()
	}
}

// backend is the backend of a CE, made once per run.
func (s *session) backend(ctx context.Context, addr ce.Address) (ce.Backend, error) {
	key := string(addr.Flavour) + " " + addr.URL()
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.backends[key]; ok {
		return b, nil
	}
	b, err := s.f.Backend(ctx, addr, s.tokens.For(addr), s.store)
	if err != nil {
		return nil, err
	}
	if s.backends == nil {
		s.backends = map[string]ce.Backend{}
	}
	s.backends[key] = b
	return b, nil
}

// backendOf is the backend of a CE as a job record names it.
func (s *session) backendOf(ctx context.Context, endpoint, flavour string) (ce.Backend, ce.Address, error) {
	addr, err := ce.ParseAddress(endpoint, ce.Flavour(flavour))
	if err != nil {
		return nil, addr, err
	}
	b, err := s.backend(ctx, addr)
	return b, addr, err
}

// runner works on jobs CE by CE (internal/jobs).
func (s *session) runner() *jobs.Runner {
	return &jobs.Runner{Store: s.store, Backend: s.backendOf, Deadline: s.f.Deadline, Warnf: s.f.Warnf,
		Answered: func(ctx context.Context, addr ce.Address, b ce.Backend) { jobs.RememberVersion(ctx, s.store, addr, b) }}
}

// flavourOf is the cesub flavour of an ARC interface name.
func flavourOf(iface string) ce.Flavour {
	if iface == arcjoblist.InterfaceEMIES {
		return ce.EMIES
	}
	return ce.ARC
}

// interfaceOf is ARC's interface name for a cesub flavour.
func interfaceOf(f ce.Flavour) string {
	if f == ce.EMIES {
		return arcjoblist.InterfaceEMIES
	}
	return arcjoblist.InterfaceREST
}

// record is an ARC job as cesub's job lifecycle takes it (the ARC id kept).
func record(j arcjoblist.Job) jobstore.Job {
	return jobstore.Job{ID: j.ID, LocalID: j.IDFromEndpoint, CE: j.ServiceURL, Flavour: string(flavourOf(j.Interface)),
		Name: j.Name, Submitted: j.Submitted}
}

// localOf is the CE-local id a result speaks of (a CE may spell the user
// id with another REST version than ARC's list has).
func localOf(r ce.Result) string {
	if r.Job != nil && r.Job.LocalID != "" {
		return r.Job.LocalID
	}
	if _, _, local, ok := ce.Backends.ParseJobID(r.ID); ok {
		return local
	}
	return r.ID
}

// byLocal matches results to the jobs they are about.
func byLocal(results []ce.Result, list []arcjoblist.Job) map[string]ce.Result {
	ids := map[string]string{} // ARC id -> local id, for results that carry the ARC id
	for _, j := range list {
		ids[j.ID] = j.IDFromEndpoint
	}
	out := make(map[string]ce.Result, len(results))
	for _, r := range results {
		if l, ok := ids[r.ID]; ok {
			out[l] = r
			continue
		}
		out[localOf(r)] = r
	}
	return out
}
