package tokencmd

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

// ShowOptions of `cesub token show`.
type ShowOptions struct {
	F      *cmdutil.Factory
	Static staticFlags
	Raw    bool
}

// ShowJSON is the schema of `token show -o json` (docs/json.md).
type ShowJSON struct {
	Schema      string         `json:"schema"`
	Source      string         `json:"source"`
	Header      map[string]any `json:"header"`
	Claims      map[string]any `json:"claims"`
	Expires     *time.Time     `json:"expires,omitempty"`
	SecondsLeft *int64         `json:"seconds_left,omitempty"`
	Token       string         `json:"token,omitempty"` // only with --raw
}

// NewCmdShow builds `token show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{F: f}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show which token would be used and its decoded claims",
		Long: `Show where the token comes from and its decoded header and claims (iss, sub,
aud, scope, wlcg.groups, wlcg.ver/ver, exp with the time left). The signature
is not verified; the CE does that. The raw token is printed only with --raw.`,
		Example: `  cesub token show
  cesub token show --token-file /tmp/bt_u1000 -o json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return showRun(opts)
		},
	}
	opts.Static.add(cmd)
	cmd.Flags().BoolVar(&opts.Raw, "raw", false, "also print the raw token")
	return cmd
}

func showRun(opts *ShowOptions) error {
	f := opts.F
	found, j, err := opts.Static.decoded(f)
	if err != nil {
		return err
	}
	now := f.Now()
	out := ShowJSON{Schema: "cesub.token.show/v1", Source: found.Source, Header: j.Header, Claims: j.RawClaims}
	if j.Claims.Expiry != nil {
		e := j.Claims.Expiry.Time
		left := int64(e.Sub(now) / time.Second)
		out.Expires, out.SecondsLeft = &e, &left
	}
	if opts.Raw {
		out.Token = found.Token.Reveal()
	}
	if f.JSON() {
		return f.PrintJSON(out)
	}
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	c := &j.Claims
	fmt.Fprintf(w, "source:\t%s\n", found.Source)
	fmt.Fprintf(w, "header:\talg=%v kid=%v typ=%v\n", j.Header["alg"], j.Header["kid"], j.Header["typ"])
	fmt.Fprintf(w, "iss:\t%s\n", c.Issuer)
	fmt.Fprintf(w, "sub:\t%s\n", c.Subject)
	aud := joinOr(c.Audience.Values, "(none)")
	if c.Audience.IsArray {
		aud = "[" + strings.Join(c.Audience.Values, ", ") + "]"
	}
	fmt.Fprintf(w, "aud:\t%s\n", aud)
	fmt.Fprintf(w, "scope:\t%s\n", joinOr(c.Scopes(), "(none)"))
	fmt.Fprintf(w, "wlcg.groups:\t%s\n", joinOr(c.Groups, "(none)"))
	switch {
	case c.WLCGVer != "":
		fmt.Fprintf(w, "wlcg.ver:\t%s\n", c.WLCGVer)
	case c.Ver != "":
		fmt.Fprintf(w, "ver:\t%s\n", c.Ver)
	default:
		fmt.Fprintf(w, "version:\t(no wlcg.ver or ver claim)\n")
	}
	if c.IssuedAt != nil {
		fmt.Fprintf(w, "iat:\t%s\n", c.IssuedAt.Local().Format(time.RFC3339))
	}
	if c.NotBefore != nil {
		fmt.Fprintf(w, "nbf:\t%s\n", c.NotBefore.Local().Format(time.RFC3339))
	}
	if c.Expiry != nil {
		left := c.Expiry.Sub(now).Round(time.Second)
		state := left.String() + " left"
		if left <= 0 {
			state = "EXPIRED " + (-left).String() + " ago"
		}
		fmt.Fprintf(w, "exp:\t%s (%s)\n", c.Expiry.Local().Format(time.RFC3339), state)
	} else {
		fmt.Fprintf(w, "exp:\t(none: the WLCG profile requires exp)\n")
	}
	var other []string
	known := map[string]bool{"iss": true, "sub": true, "aud": true, "scope": true, "wlcg.groups": true, "wlcg.ver": true,
		"ver": true, "exp": true, "nbf": true, "iat": true}
	for k := range j.RawClaims {
		if !known[k] {
			other = append(other, fmt.Sprintf("%s=%v", k, j.RawClaims[k]))
		}
	}
	sort.Strings(other)
	if len(other) > 0 {
		fmt.Fprintf(w, "other:\t%s\n", strings.Join(other, " "))
	}
	if opts.Raw {
		fmt.Fprintf(w, "token:\t%s\n", found.Token.Reveal())
	}
	return w.Flush()
}
