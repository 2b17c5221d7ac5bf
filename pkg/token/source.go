package token

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Token is a raw bearer token. Its String, GoString and JSON forms are
// redacted so that a token cannot leak through logging or %v; use Reveal for
// the one place that must send it (an Authorization header, `token get`).
type Token string

// Redacted is what a Token prints as.
const Redacted = "[REDACTED]"

func (Token) String() string                 { return Redacted }
func (Token) GoString() string               { return Redacted }
func (Token) MarshalJSON() ([]byte, error)   { return []byte(`"` + Redacted + `"`), nil }
func (Token) MarshalText() ([]byte, error)   { return []byte(Redacted), nil }
func (t Token) Reveal() string               { return string(t) }
func (t Token) Format(f fmtState, verb rune) { _, _ = f.Write([]byte(Redacted)) }

// fmtState is fmt.State, named here so Format's signature is documented.
type fmtState = fmt.State

// Issued is a token from a source together with when it stops being valid.
type Issued struct {
	Token  Token
	Source string    // human-readable origin
	Expiry time.Time // zero when unknown
}

// Source hands out tokens. Every CE backend obtains (and re-obtains) its
// token through this one interface.
type Source interface {
	// Token returns a token valid for at least minValid from now, fetching a
	// new one if the source can; a source that cannot refresh returns what it
	// has and ErrCannotRefresh if it is too short-lived.
	Token(ctx context.Context, minValid time.Duration) (*Issued, error)
	// Name says where tokens come from, for messages.
	Name() string
	// CanRefresh reports whether the source can mint a fresh token.
	CanRefresh() bool
}

// ErrCannotRefresh is returned by static sources whose token is about to
// expire: there is nowhere to get a new one from.
var ErrCannotRefresh = errors.New("token expires too soon and its source cannot refresh it")

// Static is a token found on disk or in the environment.
type Static struct {
	Found *Found
	Now   func() time.Time
}

// Name implements Source.
func (s *Static) Name() string { return s.Found.Source }

// CanRefresh implements Source: a discovered token cannot be refreshed.
func (s *Static) CanRefresh() bool { return false }

// Token implements Source.
func (s *Static) Token(_ context.Context, minValid time.Duration) (*Issued, error) {
	is := &Issued{Token: s.Found.Token, Source: s.Found.Source}
	if j, err := Decode(s.Found.Token.Reveal()); err == nil && j.Claims.Expiry != nil {
		is.Expiry = j.Claims.Expiry.Time
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		if left := is.Expiry.Sub(now()); left < minValid {
			return is, fmt.Errorf("%s: %w (%s left, %s needed); get a new one, e.g. with `cesub token get --write`",
				s.Found.Source, ErrCannotRefresh, left.Round(time.Second), minValid)
		}
	}
	return is, nil
}

// Caching wraps a fetching source (oidc-agent, client credentials): it keeps
// the last token and fetches a new one only when less than minValid is left.
type Caching struct {
	Fetch func(ctx context.Context, minValid time.Duration) (*Issued, error)
	Label string
	Now   func() time.Time

	mu   sync.Mutex
	last *Issued
}

// Name implements Source.
func (c *Caching) Name() string { return c.Label }

// CanRefresh implements Source.
func (c *Caching) CanRefresh() bool { return true }

// Token implements Source.
func (c *Caching) Token(ctx context.Context, minValid time.Duration) (*Issued, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if c.last != nil && !c.last.Expiry.IsZero() && c.last.Expiry.Sub(now()) >= minValid {
		return c.last, nil
	}
	is, err := c.Fetch(ctx, minValid)
	if err != nil {
		return nil, err
	}
	if is.Expiry.IsZero() {
		if j, err := Decode(is.Token.Reveal()); err == nil && j.Claims.Expiry != nil {
			is.Expiry = j.Claims.Expiry.Time
		}
	}
	c.last = is
	return is, nil
}

// IsRefusal reports whether err means the credentials themselves were refused
// (wrong client secret, scope not granted, agent account not loaded, token
// unusable) rather than a source being unreachable: scripts retry the latter
// and need new credentials for the former.
func IsRefusal(err error) bool {
	var ae *AgentError
	var he *HTTPError
	var de *DiscoveryError
	var dev *DeviceError
	var rr *RefreshRejectedError
	var lf *LoginFileError
	switch {
	case errors.As(err, &ae), errors.As(err, &de), errors.As(err, &rr), errors.As(err, &lf):
		return true
	case errors.As(err, &dev):
		return dev.Refused()
	case errors.As(err, &he):
		return he.Refused()
	}
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrCannotRefresh) || errors.Is(err, ErrMalformed) ||
		errors.Is(err, ErrNoRefreshToken) || errors.Is(err, ErrNoLogin)
}
