package cmdutil

import (
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
)

// Delegation modes of `submit --delegate`.
const (
	DelegateAuto  = jobs.DelegateAuto
	DelegateNone  = jobs.DelegateNone
	DelegateX509  = ce.DelegateX509
	DelegateToken = ce.DelegateToken
)

// ResolveDelegate turns --delegate auto into a concrete mode
// (jobs.ResolveDelegate); a mode it does not know is a usage error.
func ResolveDelegate(mode string, src token.Source) (string, error) {
	m, err := jobs.ResolveDelegate(mode, src)
	if err != nil {
		return "", UsageError(err)
	}
	return m, nil
}

// Delegations is the delegation reuse (internal/jobs) with this
// invocation's proxy, clock and messages.
func (f *Factory) Delegations(store *jobstore.Store) *jobs.Delegations {
	return &jobs.Delegations{Store: store, Proxy: f.Proxy, Now: f.Now, Infof: f.Infof, Debugf: f.Debugf, Warnf: f.Warnf}
}
