package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// RefreshGrant is the OAuth2 refresh_token grant for the access tokens of
// a device login: the same client, scopes and audience.
type RefreshGrant struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Refresh      Token
	Scopes       []string
	Audiences    []string
	HTTPClient   *http.Client
	Source       string // for messages: what the new token came from
}

// RefreshRejectedError is an issuer refusing the stored refresh token
// (invalid_grant: revoked, expired, or issued to another client).
type RefreshRejectedError struct {
	Desc string
}

func (e *RefreshRejectedError) Error() string {
	s := "the issuer rejected the stored refresh token (invalid_grant"
	if e.Desc != "" {
		s += ": " + e.Desc
	}
	return s + "); it was removed: log in again with `cesub token get --device`"
}

// ErrNoRefreshToken: there is no stored device login to refresh from.
var ErrNoRefreshToken = errors.New("no stored refresh token: log in with `cesub token get --device` first")

// Fetch runs the grant once. The request goes through x/oauth2's client
// credentials machinery with its grant_type replaced (which that package
// allows), since the refresh request must carry the audience too.
func (g *RefreshGrant) Fetch(ctx context.Context) (*Login, error) {
	if g.Refresh == "" {
		return nil, ErrNoRefreshToken
	}
	if u, err := url.Parse(g.TokenURL); err != nil || u.Scheme != "https" {
		return nil, fmt.Errorf("token endpoint %q: only https is allowed", g.TokenURL)
	}
	hc := g.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	conf := clientcredentials.Config{ClientID: g.ClientID, ClientSecret: g.ClientSecret, TokenURL: g.TokenURL,
		Scopes: g.Scopes, AuthStyle: authStyle(g.ClientSecret), EndpointParams: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.Refresh.Reveal()}}}
	if len(g.Audiences) > 0 {
		conf.EndpointParams.Set("audience", strings.Join(g.Audiences, " "))
	}
	guarded := guardRedirects(hc, true)
	guarded.Transport = budgetTransport{next: guarded.Transport}
	t, err := conf.Token(context.WithValue(ctx, oauth2.HTTPClient, guarded))
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		return nil, &RefreshRejectedError{Desc: re.ErrorDescription}
	}
	if err != nil {
		return nil, fmt.Errorf("refresh at %s: %w", g.TokenURL, netError(g.TokenURL, describeOAuthError(err)))
	}
	l, err := loginFrom(t, g.TokenURL, g.Source)
	if err != nil {
		return nil, fmt.Errorf("refresh at %w", err)
	}
	if l.Refresh == "" { // no rotation: the old one stays valid
		l.Refresh = g.Refresh
	}
	return l, nil
}
