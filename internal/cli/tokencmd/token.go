// Package tokencmd implements `cesub token show|get|check`.
package tokencmd

import (
	"fmt"
	"io"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/cobra"
)

// NewCmdToken builds the `token` group.
func NewCmdToken(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Find, fetch, inspect and pre-check WLCG bearer tokens",
		Long: `Work with WLCG bearer tokens.

Without --token or --token-file, cesub finds the token by WLCG Bearer Token
Discovery: $BEARER_TOKEN, then the file $BEARER_TOKEN_FILE, then
$XDG_RUNTIME_DIR/bt_u<euid>, then /tmp/bt_u<euid> (and the legacy
$ARC_OTOKEN when all of these are empty).`,
	}
	cmd.AddCommand(NewCmdShow(f, nil))
	cmd.AddCommand(NewCmdGet(f, nil))
	cmd.AddCommand(NewCmdCheck(f, nil))
	return cmd
}

// staticFlags selects an existing token: --token, --token-file, or discovery.
type staticFlags struct {
	Token string
}

func (s *staticFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.Token, "token", "", "use this token ('-' reads it from stdin); note that arguments are visible in ps")
	config.AddFlag(cmd.Flags(), config.TokenFile)
}

// find resolves the token the way every CE command will.
func (s *staticFlags) find(f *cmdutil.Factory) (*token.Found, error) {
	var found *token.Found
	var err error
	switch {
	case s.Token != "":
		raw := s.Token
		if raw == "-" {
			b, rerr := io.ReadAll(io.LimitReader(f.IO.In, 1<<20))
			if rerr != nil {
				return nil, fmt.Errorf("read token from stdin: %w", rerr)
			}
			raw = string(b)
		}
		raw = token.TrimSpace(raw)
		if verr := token.ValidB64Token(raw); verr != nil {
			return nil, &token.DiscoveryError{Source: "--token", Err: verr}
		}
		found = &token.Found{Token: token.Token(raw), Source: "--token"}
	case config.Get(f.Config, config.TokenFile) != "":
		found, err = token.FromFile(f.Env, config.Get(f.Config, config.TokenFile))
	default:
		for _, st := range token.DiscoveryPaths(f.Env) {
			f.Debugf("token discovery: trying %s %s", st[0], st[1])
		}
		found, err = token.Discover(f.Env)
	}
	if err != nil {
		return nil, err
	}
	f.Debugf("token from %s", found.Source)
	f.Infof("using the token from %s", found.Source)
	for _, w := range found.Warnings {
		f.Warnf("%s", w)
	}
	return found, nil
}

// decoded finds the token and decodes it; a token that is not a JWT is an
// authentication error naming where it came from.
func (s *staticFlags) decoded(f *cmdutil.Factory) (*token.Found, *token.JWT, error) {
	found, err := s.find(f)
	if err != nil {
		return nil, nil, err
	}
	j, err := token.Decode(found.Token.Reveal())
	if err != nil {
		return nil, nil, cmdutil.AuthError(fmt.Errorf("token from %s: %w", found.Source, err))
	}
	return found, j, nil
}

func joinOr(v []string, empty string) string {
	if len(v) == 0 {
		return empty
	}
	return strings.Join(v, " ")
}
