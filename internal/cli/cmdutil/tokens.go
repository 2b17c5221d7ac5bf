package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/pflag"
)

// AddTokenFlags adds the flags that choose where CE commands get bearer
// tokens: a file (or discovery), an oidc-agent account, or the OAuth2
// client-credentials grant, with the scopes and audience to ask for.
func AddTokenFlags(fs *pflag.FlagSet) {
	config.AddFlag(fs, config.TokenFile)
	config.AddFlag(fs, config.OIDCAgent)
	config.AddFlag(fs, config.ClientCredentials)
	config.AddFlag(fs, config.TokenScope)
	config.AddFlag(fs, config.TokenAudience)
	config.AddFlag(fs, config.OIDCSock)
	config.AddFlag(fs, config.Issuer)
	config.AddFlag(fs, config.ClientID)
	config.AddFlag(fs, config.ClientSecretFile)
	config.AddFlag(fs, config.Endpoints)
}

// Tokens gives each CE its token source. A token from a file or discovery
// is the same for every CE and cannot be refreshed (one about to expire
// stops the command with a message before a request fails) unless a device
// login wrote it (`token get --device`): then it is renewed with the
// login's refresh token and rewritten (token.LoginSource). With
// --oidc-agent or --client-credentials each CE audience gets its own
// source, which fetches a token for that audience and a fresh one whenever
// less than a minute of the last is left, so long runs (status --watch,
// bulk submissions, large downloads) outlive any one token. With an
// endpoint file (--endpoints), the CEs it lists get the token source it
// gives them, the others as above.
type Tokens struct {
	static    token.Source // nil: X.509 only (or a fetching source)
	fetch     func(audience string) token.Source
	fixed     string                  // --token-audience: one audience for every CE
	endpoints map[string]token.Source // by CE URL, from the endpoint file
	byName    map[string]token.Source // by endpoint name

	mu    sync.Mutex
	byAud map[string]token.Source
}

// For returns the token source for a CE (nil: no token, X.509 only).
func (t *Tokens) For(addr ce.Address) token.Source {
	if t == nil {
		return nil
	}
	if s, ok := t.endpoints[addr.URL()]; ok {
		return s
	}
	if t.fetch == nil {
		return t.static
	}
	aud := t.fixed
	if aud == "" {
		if a := addr.Audiences(); len(a) > 0 {
			aud = a[0]
		}
	}
	return t.forAudience(aud)
}

// ForEndpoint returns the token source of an endpoint of the endpoint file.
func (t *Tokens) ForEndpoint(name string) (token.Source, bool) {
	if t == nil {
		return nil, false
	}
	s, ok := t.byName[name]
	return s, ok
}

// forAudience is the settings' source for tokens of one audience.
func (t *Tokens) forAudience(aud string) token.Source {
	if t.fetch == nil {
		return t.static
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.byAud[aud]; ok {
		return s
	}
	if t.byAud == nil {
		t.byAud = map[string]token.Source{}
	}
	s := t.fetch(aud)
	t.byAud[aud] = s
	return s
}

// Refreshing reports whether the sources fetch (and refresh) tokens.
func (t *Tokens) Refreshing() bool { return t != nil && t.fetch != nil }

// Tokens resolves where CE commands get tokens from (see Tokens), once per
// command.
func (f *Factory) Tokens() (*Tokens, error) {
	f.allTokensOnce.Do(func() { f.allTokens, f.allTokensErr = f.resolveTokens() })
	return f.allTokens, f.allTokensErr
}

func (f *Factory) resolveTokens() (*Tokens, error) {
	t, err := f.settingsTokens()
	if err != nil {
		return nil, err
	}
	file, err := f.Endpoints()
	if err != nil || file == nil {
		return t, err
	}
	byName, byCE, err := f.endpointSources(file)
	if err != nil {
		return nil, err
	}
	t.endpoints, t.byName = byCE, byName // set before any caller has t
	return t, nil
}

// settingsTokens are the sources of the token settings (flags,
// environment), resolved once per command.
func (f *Factory) settingsTokens() (*Tokens, error) {
	f.tokensOnce.Do(func() { f.tokens, f.tokensErr = f.resolveSettingsTokens() })
	return f.tokens, f.tokensErr
}

func (f *Factory) resolveSettingsTokens() (*Tokens, error) {
	account := config.Get(f.Config, config.OIDCAgent)
	cc := config.Get(f.Config, config.ClientCredentials)
	if account == "" && !cc {
		src, err := f.TokenSource()
		if err != nil {
			return nil, err
		}
		return &Tokens{static: src}, nil
	}
	if account != "" && cc {
		return nil, UsageError(errors.New("give one of --oidc-agent and --client-credentials"))
	}
	if p := config.Get(f.Config, config.TokenFile); p != "" {
		return nil, UsageError(errors.New("--token-file reads a fixed token: it does not go with --oidc-agent or --client-credentials"))
	}
	if config.Get(f.Config, config.Auth) == "x509" {
		return nil, UsageError(errors.New("--auth x509 uses no token: it does not go with --oidc-agent or --client-credentials"))
	}
	scopes := config.Get(f.Config, config.TokenScope)
	t := &Tokens{fixed: config.Get(f.Config, config.TokenAudience)}
	if cc {
		secret := config.Get(f.Config, config.ClientSecret)
		if p := config.Get(f.Config, config.ClientSecretFile); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("client secret: %w", err)
			}
			secret = token.TrimSpace(string(b))
		}
		issuer, id := config.Get(f.Config, config.Issuer), config.Get(f.Config, config.ClientID)
		f.AddClientSecret(id, secret) // an issuer error quoting the form prints no secret
		if issuer == "" || id == "" || secret == "" {
			return nil, UsageError(errors.New("--client-credentials needs --issuer, --client-id and a secret (--client-secret-file or CESUB_CLIENT_SECRET)"))
		}
		hc, err := f.HTTPClient()
		if err != nil {
			return nil, err
		}
		t.fetch = func(aud string) token.Source {
			src := token.NewClientCredentialsSource(&token.ClientCredentials{Issuer: issuer, ClientID: id, ClientSecret: secret,
				Scopes: scopes, Audiences: []string{aud}, HTTPClient: hc})
			return f.announce(src, aud)
		}
		f.Infof("fetching tokens by client credentials (%s at %s)", id, issuer)
		return t, nil
	}
	ac := &token.AgentClient{Socket: config.Get(f.Config, config.OIDCSock)}
	t.fetch = func(aud string) token.Source {
		src := token.NewAgentSource(ac, token.AgentRequest{Account: account, Scopes: scopes, Audiences: []string{aud}, ApplicationHint: "cesub"})
		return f.announce(src, aud)
	}
	f.Infof("fetching tokens from oidc-agent account %s", account)
	return t, nil
}

// announce says (at -v and --debug) when a fetching source gets a token:
// its audience and until when it is valid, never the token; and registers
// the token in the Secrets scrubbed from all output.
func (f *Factory) announce(c *token.Caching, aud string) token.Source {
	fetch, label := c.Fetch, c.Label
	c.Fetch = func(ctx context.Context, minValid time.Duration) (*token.Issued, error) {
		is, err := fetch(ctx, minValid)
		if err != nil {
			return nil, fmt.Errorf("%s (audience %s): %w", label, aud, err)
		}
		f.AddSecret(is.Token.Reveal()) // a CE echoing it back prints no token
		until := "no expiry given"
		if !is.Expiry.IsZero() {
			until = "valid until " + is.Expiry.UTC().Format(time.RFC3339)
		} else if j, err := token.Decode(is.Token.Reveal()); err == nil && j.Claims.Expiry != nil {
			until = "valid until " + j.Claims.Expiry.Time.UTC().Format(time.RFC3339)
		}
		f.Debugf("new token from %s for audience %s (%s)", label, aud, until)
		return is, nil
	}
	c.Label = label + " for " + aud
	return c
}
