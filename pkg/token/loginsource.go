package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// LoginRefresher renews the access token a device login wrote, with the
// stored refresh token, and rewrites the token file (atomically, 0600) and
// the login state. A refresh token the issuer rejects is removed.
type LoginRefresher struct {
	Store      LoginStore
	Env        Env // reads the token file back
	HTTPClient *http.Client
	// OnRefresh is told of each new token (to scrub it from output, to log).
	OnRefresh func(*Issued)
}

// Refresh renews the token now.
func (r *LoginRefresher) Refresh(ctx context.Context) (*Issued, string, error) {
	unlock, err := r.Store.lock()
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	st, err := r.Store.State()
	if err != nil {
		return nil, "", r.noLogin(err)
	}
	is, err := r.refreshLocked(ctx, st)
	return is, st.TokenFile, err
}

// Renew returns the login's token if it is valid for minValid (another
// process may have renewed it), else renews it.
func (r *LoginRefresher) Renew(ctx context.Context, minValid time.Duration) (*Issued, error) {
	unlock, err := r.Store.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := r.Store.State()
	if err != nil {
		return nil, r.noLogin(err)
	}
	if f, err := FromFile(r.Env, st.TokenFile); err == nil && st.Wrote(st.TokenFile, f.Token) {
		if is := issuedOf(f); validFor(is, minValid) {
			return is, nil
		}
	}
	return r.refreshLocked(ctx, st)
}

func (r *LoginRefresher) noLogin(err error) error {
	if errors.Is(err, ErrNoLogin) {
		return ErrNoRefreshToken
	}
	return err
}

func (r *LoginRefresher) refreshLocked(ctx context.Context, st *LoginState) (*Issued, error) {
	rt, err := r.Store.RefreshToken()
	if err != nil {
		return nil, r.noLogin(err)
	}
	secret, err := ReadSecretFile(st.ClientSecretFile)
	if err != nil {
		return nil, err
	}
	g := &RefreshGrant{TokenURL: st.TokenURL, ClientID: st.ClientID, ClientSecret: secret, Refresh: rt, Scopes: st.Scopes,
		Audiences: st.Audiences, HTTPClient: r.HTTPClient, Source: "device login refresh (" + st.ClientID + " at " + st.Issuer + ")"}
	l, err := g.Fetch(ctx)
	var rej *RefreshRejectedError
	if errors.As(err, &rej) {
		if rerr := r.Store.RemoveRefreshToken(); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if r.OnRefresh != nil {
		r.OnRefresh(l.Issued)
	}
	if err := WriteFile(st.TokenFile, l.Issued.Token); err != nil {
		return nil, err
	}
	st.TokenSHA256 = tokenHash(l.Issued.Token)
	if err := r.Store.Save(st, l.Refresh); err != nil {
		return nil, err
	}
	return l.Issued, nil
}

func issuedOf(f *Found) *Issued {
	is := &Issued{Token: f.Token, Source: f.Source}
	if j, err := Decode(f.Token.Reveal()); err == nil && j.Claims.Expiry != nil {
		is.Expiry = j.Claims.Expiry.Time
	}
	return is
}

func validFor(is *Issued, minValid time.Duration) bool {
	return is.Expiry.IsZero() || time.Until(is.Expiry) >= minValid
}

// LoginSource is a discovered token that a device login wrote: it is used
// as found and renewed through the login's refresh token when less than
// the caller's minValid is left.
type LoginSource struct {
	Found     *Found
	Refresher *LoginRefresher

	mu  sync.Mutex
	cur *Issued
}

// Name implements Source.
func (s *LoginSource) Name() string { return s.Found.Source + ", renewed by the device login" }

// CanRefresh implements Source.
func (s *LoginSource) CanRefresh() bool { return true }

// Token implements Source.
func (s *LoginSource) Token(ctx context.Context, minValid time.Duration) (*Issued, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		s.cur = issuedOf(s.Found)
	}
	if validFor(s.cur, minValid) {
		return s.cur, nil
	}
	is, err := s.Refresher.Renew(ctx, minValid)
	if err != nil {
		return nil, fmt.Errorf("%s expires in %s: renewing it: %w", s.Found.Source,
			time.Until(s.cur.Expiry).Round(time.Second), err)
	}
	s.cur = &Issued{Token: is.Token, Source: s.Found.Source, Expiry: is.Expiry}
	return s.cur, nil
}
