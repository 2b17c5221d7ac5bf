package cmdutil

import (
	"fmt"

	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
)

// Delegation modes of `submit --delegate`.
const (
	DelegateAuto  = "auto"
	DelegateNone  = "none"
	DelegateX509  = ce.DelegateX509
	DelegateToken = ce.DelegateToken
)

// ResolveDelegate turns --delegate auto into a concrete mode: X.509 when the
// CE is reached with the proxy (as arcsub does), none with a token.
func ResolveDelegate(mode string, src token.Source) (string, error) {
	switch mode {
	case DelegateNone, DelegateX509, DelegateToken:
		return mode, nil
	case DelegateAuto, "":
		if src == nil {
			return DelegateX509, nil
		}
		return DelegateNone, nil
	}
	return "", UsageError(fmt.Errorf("--delegate %q: want auto, none, x509 or token", mode))
}

// Delegations is the delegation reuse (internal/jobs) with this
// invocation's proxy, clock and messages.
func (f *Factory) Delegations(store *jobstore.Store) *jobs.Delegations {
	return &jobs.Delegations{Store: store, Proxy: f.Proxy, Now: f.Now, Infof: f.Infof, Debugf: f.Debugf, Warnf: f.Warnf}
}
