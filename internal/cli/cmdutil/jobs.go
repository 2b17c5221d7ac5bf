package cmdutil

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/internal/ownfile"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc/submitfile"
	"github.com/cesub/cesub/pkg/token"
)

// JobList opens the job list named by --joblist / CESUB_JOBLIST or the
// default: a file, or a PostgreSQL server (whose password is never shown).
func (f *Factory) JobList(ctx context.Context) (*jobstore.Store, error) {
	path := config.Get(f.Config, config.JobList)
	if path == "" {
		home, _ := os.UserHomeDir()
		path = jobstore.DefaultPath(f.Env.Getenv, home)
	}
	return f.OpenJobList(ctx, path)
}

// OpenJobList opens the job list path (a file or a PostgreSQL server).
func (f *Factory) OpenJobList(ctx context.Context, path string) (*jobstore.Store, error) {
	if pw := jobstore.Password(path); pw != "" {
		f.AddSecret(pw)
	}
	f.Debugf("job list %s", jobstore.Redact(path))
	st, err := jobstore.Open(ctx, path)
	var fe *jobstore.ForeignError
	var no *ownfile.NotOwnedError
	var we *ownfile.WritableError
	if errors.As(err, &fe) || errors.As(err, &no) || errors.As(err, &we) {
		return nil, UsageError(err)
	}
	if err != nil {
		return nil, err
	}
	f.warnModeFix(path, st.ModeFix())
	return st, nil
}

// warnModeFix says that the job list was readable by others (it may have
// been read already), and whether it is 0600 now.
func (f *Factory) warnModeFix(path string, fix jobstore.ModeFix) {
	switch {
	case fix.Old == 0:
	case fix.Err != nil:
		f.Warnf("job list %s has mode %04o: other users can read it (job ids, delegation ids); making it 0600 failed: %v", path, fix.Old, fix.Err)
	default:
		f.Warnf("job list %s had mode %04o: other users could read it (job ids, delegation ids); made it 0600", path, fix.Old)
	}
}

// TokenSource finds the token CE commands use: --token-file or discovery. A
// missing token is not an error under --auth auto (X.509-only use); nil is
// returned, as always under --auth x509.
func (f *Factory) TokenSource() (token.Source, error) {
	var found *token.Found
	var err error
	mode := config.Get(f.Config, config.Auth)
	switch mode {
	case "auto", "token":
	case "x509":
		return nil, nil
	default:
		return nil, UsageError(fmt.Errorf("--auth %q: want auto, token or x509", mode))
	}
	if p := config.Get(f.Config, config.TokenFile); p != "" {
		found, err = token.FromFile(f.Env, p)
	} else {
		found, err = token.Discover(f.Env)
		if errors.Is(err, token.ErrNotFound) && mode == "token" {
			return nil, AuthError(err)
		}
		if errors.Is(err, token.ErrNotFound) {
			f.Debugf("no bearer token found; using X.509 only")
			return nil, nil
		}
	}
	if err != nil {
		return nil, err
	}
	for _, w := range found.Warnings {
		f.Warnf("%s", w)
	}
	f.AddSecret(found.Token.Reveal()) // a CE echoing it back prints no token
	f.Infof("using the token from %s", found.Source)
	if src := f.loginSource(found); src != nil {
		return src, nil
	}
	return &token.Static{Found: found, Now: f.Now}, nil
}

// loginSource renews found through the device login's refresh token when
// found is the token that login wrote (`token get --device`); nil otherwise.
func (f *Factory) loginSource(found *token.Found) token.Source {
	store, err := token.NewLoginStore(f.Env)
	if err != nil || found.Path == "" {
		return nil
	}
	st, err := store.State()
	if errors.Is(err, token.ErrNoLogin) {
		return nil
	}
	if err != nil {
		f.Warnf("the token from %s cannot be renewed: %v", found.Source, err)
		return nil
	}
	if !st.Wrote(found.Path, found.Token) {
		return nil
	}
	hc, err := f.HTTPClient()
	if err != nil {
		f.Warnf("the token from %s cannot be renewed: %v", found.Source, err)
		return nil
	}
	f.Debugf("the token from %s came from the device login (%s at %s): renewed when it runs low", found.Source, st.ClientID, st.Issuer)
	return &token.LoginSource{Found: found, Refresher: &token.LoginRefresher{Store: store, Env: f.Env, HTTPClient: hc,
		OnRefresh: func(is *token.Issued) {
			f.AddSecret(is.Token.Reveal())
			f.Debugf("new token from %s (valid until %s)", is.Source, is.Expiry.UTC().Format(time.RFC3339))
		}}}
}

// Backend builds the backend for a CE address, with the token source, TLS
// settings and the API version remembered in the job list.
// Without a token the X.509 proxy is the TLS client certificate.
func (f *Factory) Backend(ctx context.Context, addr ce.Address, src token.Source, store *jobstore.Store) (ce.Backend, error) {
	var cert *tls.Certificate
	if src == nil {
		cred, err := f.Proxy()
		if err != nil {
			if config.Get(f.Config, config.Auth) == "auto" {
				return nil, AuthError(fmt.Errorf("no credentials: no bearer token was found (see `cesub token show`) and %w", errors.Unwrap(err)))
			}
			return nil, err
		}
		tc := cred.TLSCertificate()
		cert = &tc
	}
	tlsFor, err := f.TLSFor(cert)
	if err != nil {
		return nil, err
	}
	b, err := ce.Backends.New(ce.Config{Address: addr, Token: src, HTTPClient: f.httpClient(tlsFor), TLSFor: tlsFor,
		Timeout: config.Get(f.Config, config.Timeout), Debugf: f.Debugf})
	if err != nil {
		return nil, err
	}
	if v := jobs.LoadVersion(ctx, store, addr, b); v != "" {
		f.Debugf("%s: %s (remembered)", addr.URL(), v)
	}
	return b, nil
}

// Deadline is the context for one command's network work.
func (f *Factory) Deadline(ctx context.Context, scale int) (context.Context, context.CancelFunc) {
	t := config.Get(f.Config, config.Timeout)
	if scale > 1 {
		t *= time.Duration(scale)
	}
	return context.WithTimeout(ctx, t)
}

// ResultCode is the exit status of a bulk operation: 0 all ok, 3 some failed,
// 4 all failed for authentication, 1 all failed otherwise.
func ResultCode(ok, failed int, authFailed bool) error {
	switch {
	case failed == 0:
		return nil
	case ok > 0:
		return Silent(ExitPartial)
	case authFailed:
		return Silent(ExitAuth)
	}
	return Silent(ExitError)
}

// Errorf prints one error line for an item of a bulk operation.
// Lines after the first are indented: a CE's text in the message cannot
// start a line that looks like cesub's own.
func (f *Factory) Errorf(format string, args ...any) {
	fmt.Fprintln(f.IO.ErrOut, "cesub: "+IndentLines(fmt.Sprintf(format, args...)))
}

// IndentLines indents every line of s after the first by two spaces.
func IndentLines(s string) string {
	return strings.ReplaceAll(s, "\n", "\n  ")
}

// PrintError prints err for an item of a bulk operation, and the hint for
// it if it is a usual network or TLS failure.
func (f *Factory) PrintError(err error) {
	f.Errorf("%v", err)
	f.Hint(err)
}

// SubmitTemplates reads the submit templates `use template :` may name from
// the HTCondor configuration files --condor-config gives, else from those
// condor_submit would read.
func (f *Factory) SubmitTemplates() (submitfile.Templates, error) {
	files := config.Get(f.Config, config.CondorConfig)
	if len(files) == 0 {
		files = submitfile.CondorConfigFiles(f.Env.Getenv)
	}
	t, err := submitfile.ReadCondorConfig(files)
	if err != nil {
		return nil, err
	}
	f.Debugf("submit templates from %v: %v", files, len(t))
	return t, nil
}
