package condortools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/htcondor"
	"github.com/cesub/cesub/pkg/token"
)

// target is the CE a command line names: -pool (the collector, which an
// HTCondor-CE runs on the same host and port as its schedd) or else
// -name/-remote (the schedd), else $_CONDOR_COLLECTOR_HOST.
type target struct{ name, pool string }

func (t target) address(getenv func(string) string) (ce.Address, error) {
	host := t.pool
	if host == "" {
		host = t.name
	}
	if host == "" {
		host = getenv("_CONDOR_COLLECTOR_HOST")
	}
	if host == "" {
		return ce.Address{}, errors.New("no schedd given: cesub reaches an HTCondor-CE only remotely (give -name HOST and/or -pool HOST:PORT)")
	}
	if !strings.Contains(host, "://") {
		host = "condor://" + host
	}
	return ce.ParseAddress(host, ce.HTCondor)
}

// session is one command's connection to the CE: the backend, the job
// list (condor_submit records its jobs there, as cesub submit does) and
// the token source.
type session struct {
	f     *cmdutil.Factory
	addr  ce.Address
	src   token.Source
	store *jobstore.Store
	c     *htcondor.Client
}

// loadConfig resolves cesub's settings (no flags: the tool's own command
// line has none of cesub's; CESUB_* and the config file still apply).
func loadConfig(f *cmdutil.Factory) error {
	if f.Config != nil {
		return nil
	}
	home, _ := os.UserHomeDir()
	cfg, err := config.Load(config.Options{Getenv: f.Env.Getenv, Home: home})
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	f.Config = cfg
	if config.Get(cfg, config.Debug) { // CESUB_DEBUG=1: cesub's debug lines on stderr
		f.Debugf = func(format string, a ...any) { fmt.Fprintf(f.IO.ErrOut, "debug: "+format+"\n", a...) }
	}
	return nil
}

// open connects to the CE t names.
func open(ctx context.Context, f *cmdutil.Factory, t target) (*session, error) {
	if err := loadConfig(f); err != nil {
		return nil, err
	}
	addr, err := t.address(f.Env.Getenv)
	if err != nil {
		return nil, err
	}
	tokens, err := f.Tokens()
	if err != nil {
		return nil, err
	}
	s := &session{f: f, addr: addr, src: tokens.For(addr)}
	if s.store, err = f.JobList(ctx); err != nil {
		return nil, err
	}
	b, err := f.Backend(ctx, addr, s.src, s.store)
	if err != nil {
		s.store.Close()
		return nil, err
	}
	c, ok := b.(*htcondor.Client)
	if !ok {
		s.store.Close()
		return nil, fmt.Errorf("%s is not an HTCondor-CE", addr.URL())
	}
	s.c = c
	return s, nil
}

// connect is open for a tool: a CE it cannot reach is reported as the real
// tools do (ERROR: …) and ok is false (the tool exits 1).
func connect(ctx context.Context, f *cmdutil.Factory, t target) (*session, bool) {
	s, err := open(ctx, f, t)
	if err != nil {
		errorf(f, "%v", err)
		return nil, false
	}
	return s, true
}

func (s *session) close() { s.store.Close() }

// errorf prints an HTCondor-style error line on stderr.
func errorf(f *cmdutil.Factory, format string, a ...any) {
	fmt.Fprintf(f.IO.ErrOut, "ERROR: "+format+"\n", a...)
}

// major is the schedd's HTCondor major version (0 if unknown): some
// tables changed shape in HTCondor 24.
func (s *session) major(ctx context.Context) int {
	_, _, v, err := s.c.Schedd(ctx)
	if err != nil {
		return 0
	}
	return major(v)
}
