package tokencmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/cobra"
)

// GetOptions of `cesub token get`.
type GetOptions struct {
	F                 *cmdutil.Factory
	AgentAccount      string
	AgentIssuer       string
	ClientCredentials bool
	Scopes            []string
	Audiences         []string
	MinValid          time.Duration
	Write             bool
	WritePath         string
	Device            bool // the RFC 8628 device login
	Refresh           bool // renew the device login's token now
}

// GetJSON is the schema of `token get -o json` (docs/json.md).
type GetJSON struct {
	Schema  string     `json:"schema"`
	Source  string     `json:"source"`
	Expires *time.Time `json:"expires,omitempty"`
	Path    string     `json:"path,omitempty"`  // with --write, --device, --refresh
	Token   string     `json:"token,omitempty"` // without --write
	// RefreshFile is where --device stored the refresh token ("" when the issuer gave none).
	RefreshFile string `json:"refresh_file,omitempty"`
}

// NewCmdGet builds `token get`.
func NewCmdGet(f *cmdutil.Factory, runF func(*GetOptions) error) *cobra.Command {
	opts := &GetOptions{F: f}
	cmd := &cobra.Command{
		Use:   "get",
		Short: "Fetch a token from oidc-agent, by OAuth2 client credentials, or by a device login",
		Long: `Fetch a fresh access token and print it (for $(...) use), or store it with
--write, atomically and with mode 0600, where token discovery finds it:
$BEARER_TOKEN_FILE if set, else $XDG_RUNTIME_DIR/bt_u<euid>, else /tmp/bt_u<euid>.

Sources:
  --oidc-agent ACCOUNT     a running oidc-agent ($OIDC_SOCK), by account short name
  --oidc-issuer URL        a running oidc-agent, by issuer URL
  --client-credentials     the OAuth2 client-credentials grant at --issuer with
                           --client-id; the secret from --client-secret-file or
                           $CESUB_CLIENT_SECRET (never a flag value: ps shows those)
  --device                 log in in a browser (the OAuth2 device flow, RFC 8628) at
                           --issuer as --client-id (a public client; a secret, if the
                           client has one, from --client-secret-file): cesub prints a
                           URL and a code, waits for the login, writes the token where
                           discovery finds it and keeps the refresh token (0600) in
                           $XDG_CONFIG_HOME/cesub/ (~/.config/cesub/); job commands
                           renew the token with it when it runs low
  --refresh                renew the device login's token now

--device asks for offline_access (for the refresh token) besides --scope
(default: the four compute scopes). Exit codes: 4 when the login is denied
(access_denied) or the issuer rejects the stored refresh token (it is then
removed: log in again); 1 when the code expired before the login was done.`,
		Example: `  cesub token get --oidc-agent wlcg --scope compute.create --scope compute.read --audience https://ce.example.org:443 --write
  export BEARER_TOKEN=$(cesub token get --client-credentials --issuer https://iam.example.org/ --client-id pilot --client-secret-file ~/.secret)
  cesub token get --device --issuer https://wlcg.cloud.cnaf.infn.it/ --client-id my-laptop-client --audience https://ce.example.org:443
  cesub token get --refresh`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			// --oidc-agent and --client-credentials are settings (env, config
			// file) shared with the job commands; a flag wins over the other's env
			fl := c.Flags()
			opts.AgentAccount, _ = fl.GetString("oidc-agent")
			opts.ClientCredentials, _ = fl.GetBool("client-credentials")
			if f.Config != nil && !fl.Changed("oidc-agent") && !fl.Changed("client-credentials") {
				opts.AgentAccount = config.Get(f.Config, config.OIDCAgent)
				opts.ClientCredentials = config.Get(f.Config, config.ClientCredentials)
			}
			if opts.Device || opts.Refresh {
				opts.AgentAccount, opts.ClientCredentials = "", false // a setting (env, config file) does not count
			}
			n := 0
			for _, b := range []bool{opts.AgentAccount != "", opts.AgentIssuer != "", opts.ClientCredentials, opts.Device, opts.Refresh} {
				if b {
					n++
				}
			}
			if n != 1 {
				return cmdutil.UsageError(errors.New("give exactly one of --oidc-agent ACCOUNT, --oidc-issuer URL, --client-credentials, --device, --refresh"))
			}
			opts.Write = c.Flags().Changed("write") || opts.Write
			if runF != nil {
				return runF(opts)
			}
			switch {
			case opts.Device:
				return deviceRun(c.Context(), opts, fl.Changed("scope"))
			case opts.Refresh:
				return refreshRun(c.Context(), opts)
			}
			return getRun(c.Context(), opts)
		},
	}
	fl := cmd.Flags()
	config.AddFlag(fl, config.OIDCAgent)
	fl.StringVar(&opts.AgentIssuer, "oidc-issuer", "", "ask oidc-agent for an account of this issuer")
	config.AddFlag(fl, config.ClientCredentials)
	fl.StringSliceVar(&opts.Scopes, "scope", nil, "scope to request (repeatable, or space/comma separated)")
	fl.StringSliceVar(&opts.Audiences, "audience", nil, "audience to request (repeatable)")
	fl.DurationVar(&opts.MinValid, "min-valid", 5*time.Minute, "minimum validity the token must have")
	fl.BoolVar(&opts.Write, "write", false, "store the token where discovery finds it instead of printing it")
	fl.StringVar(&opts.WritePath, "write-path", "", "with --write or --device: store here instead")
	fl.BoolVar(&opts.Device, "device", false, "log in with the OAuth2 device flow (prints a URL and a code) and store the token and a refresh token")
	fl.BoolVar(&opts.Refresh, "refresh", false, "renew the device login's token now with its stored refresh token")
	config.AddFlag(fl, config.OIDCSock)
	config.AddFlag(fl, config.Issuer)
	config.AddFlag(fl, config.ClientID)
	config.AddFlag(fl, config.ClientSecretFile)
	return cmd
}

func splitList(v []string) []string {
	var out []string
	for _, s := range v {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })...)
	}
	return out
}

// Source builds the token source the options describe.
func (o *GetOptions) Source() (token.Source, error) {
	f := o.F
	scopes, auds := splitList(o.Scopes), splitList(o.Audiences)
	if o.ClientCredentials {
		secret := config.Get(f.Config, config.ClientSecret)
		if p := config.Get(f.Config, config.ClientSecretFile); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("client secret: %w", err)
			}
			secret = token.TrimSpace(string(b))
		}
		f.AddClientSecret(config.Get(f.Config, config.ClientID), secret) // an issuer error quoting the form prints no secret
		hc, err := f.HTTPClient()
		if err != nil {
			return nil, err
		}
		return token.NewClientCredentialsSource(&token.ClientCredentials{Issuer: config.Get(f.Config, config.Issuer),
			ClientID: config.Get(f.Config, config.ClientID), ClientSecret: secret, Scopes: scopes, Audiences: auds,
			HTTPClient: hc}), nil
	}
	ac := &token.AgentClient{Socket: config.Get(f.Config, config.OIDCSock)}
	return token.NewAgentSource(ac, token.AgentRequest{Account: o.AgentAccount, Issuer: o.AgentIssuer,
		Scopes: scopes, Audiences: auds, ApplicationHint: "cesub"}), nil
}

func getRun(ctx context.Context, opts *GetOptions) error {
	f := opts.F
	src, err := opts.Source()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, config.Get(f.Config, config.Timeout))
	defer cancel()
	f.Debugf("fetching a token from %s", src.Name())
	f.Infof("fetching a token from %s", src.Name())
	is, err := src.Token(ctx, opts.MinValid)
	if err != nil {
		if token.IsRefusal(err) {
			return cmdutil.AuthError(err)
		}
		return err
	}
	out := GetJSON{Schema: "cesub.token.get/v1", Source: is.Source}
	if !is.Expiry.IsZero() {
		e := is.Expiry
		out.Expires = &e
		if left := time.Until(e); left < opts.MinValid {
			f.Warnf("the token is valid for only %s, less than --min-valid %s", left.Round(time.Second), opts.MinValid)
		}
	}
	if opts.Write {
		path := opts.WritePath
		if path == "" {
			path = token.WritePath(f.Env)
		}
		if err := token.WriteFile(path, is.Token); err != nil {
			return err
		}
		out.Path = path
		if f.JSON() {
			return f.PrintJSON(out)
		}
		fmt.Fprintf(f.IO.ErrOut, "token from %s written to %s", is.Source, path)
		if out.Expires != nil {
			fmt.Fprintf(f.IO.ErrOut, " (valid until %s)", out.Expires.Local().Format(time.RFC3339))
		}
		fmt.Fprintln(f.IO.ErrOut)
		return nil
	}
	if f.JSON() {
		out.Token = is.Token.Reveal()
		return f.PrintSecretJSON(out)
	}
	fmt.Fprintln(f.IO.DataOut(), is.Token.Reveal())
	return nil
}
