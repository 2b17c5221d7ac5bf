package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// Delegations reuses X.509 delegations on CEs: one per CE and identity,
// remembered in the job list, renewed in place when the local proxy is
// newer or the delegation runs short.
type Delegations struct {
	Store *jobstore.Store
	Proxy func() (*x509proxy.Credential, error)
	Now   func() time.Time
	// Infof, Debugf and Warnf say what happened (may be nil).
	Infof, Debugf, Warnf func(format string, args ...any)
}

func (m *Delegations) say(f func(string, ...any), format string, args ...any) {
	if f != nil {
		f(format, args...)
	}
}

// renewMargin: a remembered X.509 delegation with less than this left is
// renewed even if the local proxy is no newer.
const renewMargin = 30 * time.Minute

// Ensure returns the id of a delegation on the CE for this
// identity, reusing the remembered one while it is good, renewing it in place
// (same id, so running jobs get the new credential) when the local proxy is
// newer or it runs short, and making a new one otherwise.
func (m *Delegations) Ensure(ctx context.Context, addr ce.Address, b ce.Backend, mode string, src token.Source) (string, error) {
	f, store := m, m.Store
	switch mode {
	case "", "none":
		return "", nil
	case ce.DelegateToken:
		d, err := b.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateToken})
		if err != nil {
			return "", err
		}
		m.say(m.Infof, "token delegation %s", d.ID)
		return d.ID, nil
	}
	cred, err := f.Proxy()
	if err != nil {
		return "", fmt.Errorf("X.509 delegation: %w", err)
	}
	key, err := delegationKey(ctx, src, cred)
	if err != nil {
		return "", err
	}
	now := f.Now()
	sign := func(csr []byte) ([]byte, error) {
		return x509proxy.SignRequest(cred, csr, x509proxy.Options{Lifetime: cred.TimeLeft(now), Now: f.Now})
	}
	rec, known := store.Delegation(ctx, addr.URL(), key, ce.DelegateX509)
	if known && reusable(rec, cred, now) {
		m.say(m.Debugf, "reusing delegation %s (valid until %s)", rec.ID, rec.NotAfter.UTC().Format(time.RFC3339))
		return rec.ID, nil
	}
	var d *ce.Delegation
	if known {
		d, err = b.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: sign, RenewID: rec.ID})
		if err != nil && !ce.IsAuthFailure(err) {
			m.say(m.Debugf, "renewing delegation %s failed (%v); making a new one", rec.ID, err)
			d = nil
		} else if err != nil {
			return "", err
		} else {
			m.say(m.Infof, "renewed delegation %s", d.ID)
		}
	}
	if d == nil {
		d, err = b.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: sign})
		if err != nil {
			return "", err
		}
		m.say(m.Infof, "new delegation %s", d.ID)
	}
	if err := store.SetDelegation(ctx, jobstore.Delegation{CE: addr.URL(), Identity: key, Type: ce.DelegateX509, ID: d.ID, NotAfter: cred.NotAfter()}); err != nil {
		m.say(m.Warnf, "%v", err)
	}
	return d.ID, nil
}

// Reusable reports the remembered X.509 delegation Ensure
// would reuse without any request (for dry runs).
func (m *Delegations) Reusable(ctx context.Context, addr ce.Address, src token.Source) (string, bool) {
	f, store := m, m.Store
	cred, err := f.Proxy()
	if err != nil {
		return "", false
	}
	key, err := delegationKey(ctx, src, cred)
	if err != nil {
		return "", false
	}
	rec, known := store.Delegation(ctx, addr.URL(), key, ce.DelegateX509)
	if known && reusable(rec, cred, f.Now()) {
		return rec.ID, true
	}
	return "", false
}

// reusable: the stored delegation is at least as new as the local proxy
// and has more than renewMargin left.
func reusable(rec jobstore.Delegation, cred *x509proxy.Credential, now time.Time) bool {
	return !rec.NotAfter.Before(cred.NotAfter().Add(-time.Minute)) && rec.NotAfter.Sub(now) > renewMargin
}

// delegationKey names the delegation slot: who authenticates, delegating whose credential.
func delegationKey(ctx context.Context, src token.Source, cred *x509proxy.Credential) (string, error) {
	who, err := authIdentity(ctx, src, cred)
	if err != nil {
		return "", err
	}
	return who + " delegating " + cred.Identity(), nil
}

// authIdentity names who the CE sees: the token's issuer and subject, or the proxy's identity.
func authIdentity(ctx context.Context, src token.Source, cred *x509proxy.Credential) (string, error) {
	if src == nil {
		return "x509:" + cred.Identity(), nil
	}
	is, err := src.Token(ctx, 0)
	if err != nil {
		return "", err
	}
	j, err := token.Decode(is.Token.Reveal())
	if err != nil {
		return "token:" + src.Name(), nil
	}
	return "token:" + j.Claims.Issuer + " " + j.Claims.Subject, nil
}

// Renew puts the local proxy into delegation id on the CE (in place: the
// jobs using it get the new credential), as arcrenew does for each job's
// delegation.
func (m *Delegations) Renew(ctx context.Context, b ce.Backend, id string) error {
	cred, err := m.Proxy()
	if err != nil {
		return fmt.Errorf("X.509 delegation: %w", err)
	}
	now := m.Now()
	sign := func(csr []byte) ([]byte, error) {
		return x509proxy.SignRequest(cred, csr, x509proxy.Options{Lifetime: cred.TimeLeft(now), Now: m.Now})
	}
	d, err := b.Delegate(ctx, ce.DelegateRequest{Type: ce.DelegateX509, Sign: sign, RenewID: id})
	if err != nil {
		return fmt.Errorf("renewing delegation %s: %w", id, err)
	}
	m.say(m.Infof, "renewed delegation %s", d.ID)
	return nil
}
