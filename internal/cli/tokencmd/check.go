package tokencmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
	"github.com/spf13/cobra"
)

// CheckOptions of `cesub token check`.
type CheckOptions struct {
	F          *cmdutil.Factory
	Static     staticFlags
	CE         string
	Flavour    string
	Ops        []string
	Audiences  []string
	MinValid   time.Duration
	Skew       time.Duration
	AuthTokens []string
	ArcConf    string
}

// RuleJSON is one --authtokens rule's outcome.
type RuleJSON struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	Reason  string `json:"reason,omitempty"`
}

// CheckJSON is the schema of `token check -o json` (docs/json.md).
type CheckJSON struct {
	Schema     string            `json:"schema"`
	Source     string            `json:"source"`
	CE         string            `json:"ce,omitempty"`
	Flavour    string            `json:"flavour,omitempty"`
	Identity   string            `json:"identity"`
	Checks     []token.Check     `json:"checks"`
	AuthTokens []RuleJSON        `json:"authtokens,omitempty"`
	ArcConf    *token.ArcVerdict `json:"arc_conf,omitempty"`
	OK         bool              `json:"ok"`
}

// NewCmdCheck builds `token check`.
func NewCmdCheck(f *cmdutil.Factory, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{F: f}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Pre-flight a token against what a CE needs, without contacting the CE",
		Long: `Check a token before using it, without contacting the CE:

  exp/nbf      present, not expired, at least --min-valid left (--skew tolerated)
  aud          with --ce: the audience the CE flavour expects (ARC: https://host:port;
               HTCondor-CE: host:9619) or the WLCG/SciTokens any-audience
  scope:<op>   with --ce or --flavour: the compute.* scopes each --op needs
               (ARC 7 with tokenscopes=wlcg: submit compute.create, status
               compute.read, cancel compute.cancel, upload compute.modify;
               HTCondor-CE WRITE needs compute.create + modify + cancel)
  ver          wlcg.ver or ver present
  authtokens   with --authtokens RULE or --arc-conf FILE: which A-REX authgroup
               rule admits the token, with A-REX's exact semantics (* wildcard;
               exact iss string, so a trailing slash matters; only aud[0];
               scope = one word of scope; group = one element of wlcg.groups),
               then [arex/ws/jobs] allowaccess/denyaccess and [mapping]

Each failed check is one line naming the claim, the value seen and the value
needed. Exit 0 when all pass, 4 when any fails.`,
		Example: `  cesub token check --ce https://ce.example.org:443/arex --op submit --op upload
  cesub token check --arc-conf /etc/arc.conf
  cesub token check --authtokens '* https://iam.example.org/ https://ce:443 * /atlas'
  cesub token check --ce condor://ce.example.org:9619`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return checkRun(opts)
		},
	}
	opts.Static.add(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&opts.CE, "ce", "C", "", "CE address (host, host:port or URL)")
	fl.StringVar(&opts.Flavour, "flavour", "", "CE flavour: arc or htcondor (default: from the address)")
	fl.StringSliceVar(&opts.Ops, "op", []string{"submit", "status", "cancel", "upload"}, "operations to check scopes for: submit, status, cancel, upload")
	fl.StringSliceVar(&opts.Audiences, "audience", nil, "accept this audience instead of the flavour's default (repeatable)")
	fl.DurationVar(&opts.MinValid, "min-valid", time.Minute, "validity that must remain")
	fl.DurationVar(&opts.Skew, "skew", 0, "tolerated clock difference for exp and nbf")
	fl.StringArrayVar(&opts.AuthTokens, "authtokens", nil, "A-REX rule 'subject issuer audience scope group' (repeatable)")
	fl.StringVar(&opts.ArcConf, "arc-conf", "", "read the authtokens rules of every [authgroup:NAME] in this arc.conf")
	_ = cmd.RegisterFlagCompletionFunc("flavour", cmdutil.CompleteFlavours)
	_ = cmd.RegisterFlagCompletionFunc("op", cobra.FixedCompletions(token.Operations, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func checkRun(opts *CheckOptions) error {
	f := opts.F
	var err error
	var rules []token.AuthTokensRule
	for _, r := range opts.AuthTokens {
		rule, err := token.ParseAuthTokensRule(r)
		if err != nil {
			return cmdutil.UsageError(fmt.Errorf("--authtokens: %w", err))
		}
		rules = append(rules, rule)
	}
	var conf *token.ArcConf
	if opts.ArcConf != "" {
		conf, err = token.ReadArcConf(opts.ArcConf)
		if err != nil {
			return cmdutil.UsageError(err)
		}
	}
	found, j, err := opts.Static.decoded(f)
	if err != nil {
		return err
	}
	c := &j.Claims
	now := f.Now()
	out := CheckJSON{Schema: "cesub.token.check/v1", Source: found.Source, Identity: c.Issuer + "/" + c.Subject}

	haveRules := len(rules) > 0 || conf != nil

	req := token.Requirements{Now: now, Skew: opts.Skew, MinValid: opts.MinValid, RequireVersion: true}
	flavour := opts.Flavour
	if opts.CE != "" {
		addr, err := ce.ParseAddress(opts.CE, ce.Flavour(opts.Flavour))
		if err != nil {
			return cmdutil.UsageError(err)
		}
		flavour = string(addr.Flavour)
		out.CE = addr.URL()
		req.Audiences = addr.Audiences()
	}
	if in, ok := ce.Backends.Info(ce.Flavour(flavour)); ok {
		req.FirstAudienceOnly = in.FirstAudienceOnly
	}
	if len(opts.Audiences) > 0 {
		req.Audiences = splitList(opts.Audiences)
	}
	out.Flavour = flavour
	if flavour != "" {
		needs, err := ce.Backends.ScopeNeeds(ce.Flavour(flavour), splitList(opts.Ops))
		if err != nil {
			return cmdutil.UsageError(err)
		}
		req.Scopes = needs
	}
	checks := token.Preflight(c, req)
	for i := range checks {
		ch := &checks[i]
		if ch.OK {
			continue
		}
		switch {
		case ch.Name == "aud" && haveRules:
			ch.Advisory = true
			ch.Note = joinNote(ch.Note, "the authtokens rules decide the audience on this CE")
		case strings.HasPrefix(ch.Name, "scope:") && conf != nil && conf.Block("arex").Values("tokenscopes") == nil: // an arc.conf: an A-REX
			ch.Advisory = true
			ch.Note = joinNote(ch.Note, "this arc.conf sets no tokenscopes, so A-REX does not enforce scopes per operation")
		case ch.Name == "ver" && haveRules:
			ch.Advisory = true
			ch.Note = joinNote(ch.Note, "A-REX ignores wlcg.ver")
		}
	}
	if len(rules) > 0 {
		matched := false
		for _, r := range rules {
			ok, why := r.Match(c)
			out.AuthTokens = append(out.AuthTokens, RuleJSON{Rule: r.String(), Matched: ok, Reason: why})
			matched = matched || ok
		}
		ch := token.Check{Name: "authtokens", Claim: "sub iss aud scope wlcg.groups", OK: matched,
			Seen: out.Identity, Needed: "a match of one --authtokens rule"}
		checks = append(checks, ch)
	}
	if conf != nil {
		v := conf.Evaluate(c, now)
		out.ArcConf = v
		ch := token.Check{Name: "arc.conf", Claim: "sub iss aud scope wlcg.groups exp nbf", OK: v.Admitted,
			Seen: v.Identity, Needed: "admission by " + conf.Path}
		if !v.Admitted {
			ch.Note = strings.Join(v.Reasons, "; ")
		}
		checks = append(checks, ch)
	}
	out.Checks = checks
	out.OK = token.AllOK(checks)
	if f.JSON() {
		if err := f.PrintJSON(out); err != nil {
			return err
		}
	} else {
		printCheck(f, &out)
	}
	if !out.OK {
		return cmdutil.Silent(cmdutil.ExitAuth)
	}
	return nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func printCheck(f *cmdutil.Factory, out *CheckJSON) {
	w := f.IO.Out
	fmt.Fprintf(w, "token from %s, identity %s\n", out.Source, out.Identity)
	if out.CE != "" {
		fmt.Fprintf(w, "CE %s (%s)\n", out.CE, out.Flavour)
	}
	for _, ch := range out.Checks {
		fmt.Fprintln(w, ch.Line())
	}
	for _, r := range out.AuthTokens {
		if r.Matched {
			fmt.Fprintf(w, "     authtokens rule %q matches\n", r.Rule)
		} else {
			fmt.Fprintf(w, "     authtokens rule %q does not match: %s\n", r.Rule, r.Reason)
		}
	}
	if v := out.ArcConf; v != nil {
		for _, g := range v.Groups {
			switch {
			case g.Member:
				fmt.Fprintf(w, "     [authgroup:%s] member by line %d: %s\n", g.Name, g.Line, g.Rule)
			default:
				fmt.Fprintf(w, "     [authgroup:%s] not a member: %s\n", g.Name, g.Reason)
			}
		}
		fmt.Fprintf(w, "     access: %s\n", v.AccessRule)
		if v.MappedTo != "" {
			fmt.Fprintf(w, "     A-REX maps %s to %s by %s\n", v.Identity, v.MappedTo, v.MapRule)
		}
		if v.ScopesEnforced != "" {
			fmt.Fprintf(w, "     tokenscopes = %s: A-REX checks compute.* scopes per operation\n", v.ScopesEnforced)
		}
	}
	if out.OK {
		fmt.Fprintln(w, "all checks passed")
	} else {
		fmt.Fprintln(w, "pre-flight FAILED")
	}
}
