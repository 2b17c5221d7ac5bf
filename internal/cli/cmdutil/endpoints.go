package cmdutil

import (
	"errors"
	"fmt"
	"os"

	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/endpoints"
	"github.com/cesub/cesub/pkg/token"
)

// Endpoints reads the endpoint file of --endpoints/-E (CESUB_ENDPOINTS),
// or returns nil when none is set; read once per command (the token
// sources and the commands' CE lists both come from it).
func (f *Factory) Endpoints() (*endpoints.File, error) {
	f.endpointsOnce.Do(func() {
		p := config.Get(f.Config, config.Endpoints)
		if p == "" {
			return
		}
		if f.endpoints, f.endpointsErr = endpoints.Read(p); f.endpointsErr != nil {
			f.endpointsErr = UsageError(f.endpointsErr)
		}
	})
	return f.endpoints, f.endpointsErr
}

// EndpointAudience is the audience an endpoint's tokens are asked for: its
// own audience, else --token-audience, else the CE's.
func (f *Factory) EndpointAudience(ep endpoints.Endpoint) string {
	if ep.Audience != "" {
		return ep.Audience
	}
	if a := config.Get(f.Config, config.TokenAudience); a != "" {
		return a
	}
	if a := ep.Address.Audiences(); len(a) > 0 {
		return a[0]
	}
	return ""
}

// EndpointSource builds the token source an endpoint file gives one
// endpoint: discovery (the token settings' source: WLCG token discovery,
// or --token-file, --oidc-agent or --client-credentials when given), a
// file, the device login's token, an oidc-agent account or the
// client-credentials grant, the last two
// asking for the endpoint's audience and scopes and refreshing during long
// runs.
func (f *Factory) EndpointSource(ep endpoints.Endpoint) (token.Source, error) {
	aud := f.EndpointAudience(ep)
	scopes := ep.Token.Scopes
	if len(scopes) == 0 {
		scopes = config.Get(f.Config, config.TokenScope)
	}
	where := fmt.Sprintf("endpoint %s (line %d)", ep.Name, ep.Line)
	switch ep.Token.Source {
	case "discovery", "":
		t, err := f.settingsTokens()
		if err != nil {
			return nil, err
		}
		return t.forAudience(aud), nil
	case "device":
		src, err := f.deviceLoginSource()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return src, nil
	case "file":
		found, err := token.FromFile(f.Env, ep.Token.File)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		for _, w := range found.Warnings {
			f.Warnf("%s: %s", where, w)
		}
		f.AddSecret(found.Token.Reveal())
		return &token.Static{Found: found, Now: f.Now}, nil
	case "oidc-agent":
		ac := &token.AgentClient{Socket: config.Get(f.Config, config.OIDCSock)}
		return f.announce(token.NewAgentSource(ac, token.AgentRequest{Account: ep.Token.Agent, Scopes: scopes,
			Audiences: []string{aud}, ApplicationHint: "cesub"}), aud), nil
	case "client-credentials":
		b, err := os.ReadFile(ep.Token.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("%s: client secret: %w", where, err)
		}
		f.AddClientSecret(ep.Token.ClientID, token.TrimSpace(string(b)))
		hc, err := f.HTTPClient()
		if err != nil {
			return nil, err
		}
		return f.announce(token.NewClientCredentialsSource(&token.ClientCredentials{Issuer: ep.Token.Issuer,
			ClientID: ep.Token.ClientID, ClientSecret: token.TrimSpace(string(b)), Scopes: scopes,
			Audiences: []string{aud}, HTTPClient: hc}), aud), nil
	}
	return nil, fmt.Errorf("%s: token source %q", where, ep.Token.Source)
}

// deviceLoginSource is the token the device login wrote (`cesub token get
// --device`), renewed through its refresh token when it runs low.
func (f *Factory) deviceLoginSource() (token.Source, error) {
	store, err := token.NewLoginStore(f.Env)
	if err != nil {
		return nil, AuthError(err)
	}
	st, err := store.State()
	if errors.Is(err, token.ErrNoLogin) {
		return nil, AuthError(errors.New("token source device: no device login stored: log in with `cesub token get --device`"))
	}
	if err != nil {
		return nil, err
	}
	found, err := token.FromFile(f.Env, st.TokenFile)
	if err != nil {
		return nil, err
	}
	f.AddSecret(found.Token.Reveal())
	if src := f.loginSource(found); src != nil {
		return src, nil
	}
	return nil, AuthError(fmt.Errorf("token source device: %s no longer holds the device login's token: log in again with `cesub token get --device`", st.TokenFile))
}

// endpointSources gives every endpoint of the file its token source, by
// name and by the CE's URL (for a CE listed twice, the first endpoint's).
func (f *Factory) endpointSources(file *endpoints.File) (byName, byCE map[string]token.Source, err error) {
	byName, byCE = map[string]token.Source{}, map[string]token.Source{}
	var errs []error
	for _, ep := range file.Endpoints {
		if ep.Skip {
			continue
		}
		src, err := f.EndpointSource(ep)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		byName[ep.Name] = src
		if _, dup := byCE[ep.Address.URL()]; !dup {
			byCE[ep.Address.URL()] = src
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%s: %w", file.Path, errors.Join(errs...))
	}
	return byName, byCE, nil
}
