// Package cli builds cesub's cobra command tree. Each command lives in its
// own package with an options struct, NewCmdX(f, runF) and xRun(opts); this
// package wires them under the root and maps errors to exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/cli/compat"
	"github.com/cesub/cesub/internal/cli/describecmd"
	"github.com/cesub/cesub/internal/cli/docscmd"
	"github.com/cesub/cesub/internal/cli/jobcmd"
	"github.com/cesub/cesub/internal/cli/joblistcmd"
	"github.com/cesub/cesub/internal/cli/proxycmd"
	"github.com/cesub/cesub/internal/cli/testcmd"
	"github.com/cesub/cesub/internal/cli/tokencmd"
	"github.com/cesub/cesub/internal/cli/versioncmd"
	"github.com/cesub/cesub/internal/config"
	_ "github.com/cesub/cesub/pkg/ce/all" // every CE flavour this build speaks
	"github.com/spf13/cobra"
)

// commands are the commands under the root, in the order help lists them.
var commands = []struct {
	name    string
	ce      bool     // talks to CEs: gets the token-source flags
	outputs []string // the --output formats it writes besides text and json
	build   func(f *cmdutil.Factory) *cobra.Command
}{
	{"token", false, nil, tokencmd.NewCmdToken},
	{"proxy", false, nil, proxycmd.NewCmdProxy},
	{"describe", false, nil, func(f *cmdutil.Factory) *cobra.Command { return describecmd.NewCmdDescribe(f, nil) }},
	{"submit", true, []string{"jsonl"}, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdSubmit(f, nil) }},
	{"status", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdStatus(f, nil) }},
	{"cat", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdCat(f, nil) }},
	{"get", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdGet(f, nil) }},
	{"kill", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdAction(f, "kill", nil) }},
	{"clean", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdAction(f, "clean", nil) }},
	{"resume", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdAction(f, "resume", nil) }},
	{"hold", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdAction(f, "hold", nil) }},
	{"release", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdAction(f, "release", nil) }},
	{"info", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdInfo(f, nil) }},
	{"ping", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdPing(f, nil) }},
	{"sync", true, nil, func(f *cmdutil.Factory) *cobra.Command { return jobcmd.NewCmdSync(f, nil) }},
	{"joblist", false, nil, joblistcmd.NewCmdJoblist},
	{"test", true, []string{"markdown"}, func(f *cmdutil.Factory) *cobra.Command { return testcmd.NewCmdTest(f, nil) }},
	{"version", false, nil, func(f *cmdutil.Factory) *cobra.Command { return versioncmd.NewCmdVersion(f, nil) }},
	{"compat", false, nil, func(f *cmdutil.Factory) *cobra.Command { return compat.NewCmdCompat(f, nil) }},
	{"docs", false, nil, docscmd.NewCmdDocs},
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command { return newCmdRoot(f, "") }

// commandNamed is the command args run when their first word names one
// directly ("status" in `cesub status -a`), or "" when the whole tree is
// needed: flags first, help, completion, a typo to suggest for.
func commandNamed(args []string) string {
	if len(args) == 0 {
		return ""
	}
	for _, b := range commands {
		if b.name == args[0] && b.name != "docs" { // docs documents the whole tree
			return b.name
		}
	}
	return ""
}

// newCmdRoot builds the root with every command, or with only the command
// named only: a pilot factory runs cesub thousands of times a day, and
// building (and paging in) the other commands' flags cost each run about
// 2 ms of its ~20 ms start.
func newCmdRoot(f *cmdutil.Factory, only string) *cobra.Command {
	var configFile string
	var verbose int
	started := time.Now()
	cmd := &cobra.Command{
		Use:   "cesub",
		Short: "Submit and manage grid jobs on ARC CEs and HTCondor-CEs, token first",
		Long: `cesub submits and manages jobs on WLCG computing elements: ARC CEs (REST,
EMI-ES) and HTCondor-CEs (CEDAR with SciTokens). It finds or fetches a WLCG
bearer token (token discovery, oidc-agent, OAuth2 client credentials), checks
it against what the CE needs before contacting it, and can delegate an X.509
proxy. One static binary replaces arcsub/arcstat/arcget/arckill/arcproxy and
condor_submit -remote/condor_q/condor_rm/condor_ping.

Settings come from flags, then CESUB_* environment variables, then
$XDG_CONFIG_HOME/cesub/config.yaml, then defaults (which honour X509_CERT_DIR,
X509_USER_PROXY and ~/.arc/client.conf [common]).

Exit codes: 0 ok, 1 error, 2 usage, 3 partial (some jobs failed),
4 authentication or authorization.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := os.UserHomeDir()
			cfg, err := config.Load(config.Options{ConfigFile: configFile, Getenv: f.Env.Getenv, Home: home})
			if err != nil {
				return cmdutil.UsageError(err)
			}
			cfg.BindFlags(cmd.Flags())
			if err := cfg.Validate(); err != nil {
				return cmdutil.UsageError(err)
			}
			f.Config = cfg
			for _, w := range cfg.Warnings() {
				f.Warnf("%s", w)
			}
			if o, want := config.Get(cfg, config.Output), outputFormats(cmd); !slices.Contains(want, o) {
				return cmdutil.UsageError(fmt.Errorf("--output %q: want %s or %s", o, strings.Join(want[:len(want)-1], ", "), want[len(want)-1]))
			}
			if verbose >= 1 {
				f.Infof = func(format string, args ...any) {
					fmt.Fprintln(f.IO.ErrOut, cmdutil.IndentLines(fmt.Sprintf(format, args...)))
				}
			}
			if config.Get(cfg, config.Debug) || verbose >= 2 {
				// each line says how long the command has run, so that a slow
				// step shows where it is
				f.Debugf = func(format string, args ...any) {
					fmt.Fprintf(f.IO.ErrOut, "debug: %s %s\n", sinceStart(started), cmdutil.IndentLines(fmt.Sprintf(format, args...)))
				}
				if p := cfg.FileUsed(); p != "" {
					f.Debugf("config file %s", p)
				}
				if p := cfg.ClientConfUsed(); p != "" {
					f.Debugf("ARC client config %s", p)
				}
			}
			return nil
		},
	}
	// `cesub --version`, the first command many smoke tests type, prints
	// what `cesub version` does (its -o json stays with the command)
	cmd.Version = f.Version
	cmd.SetVersionTemplate(strings.ReplaceAll(versioncmd.Line(f.Version), "{{", "{{`{{`}}"))
	pf := cmd.PersistentFlags()
	config.AddFlag(pf, config.Output)
	config.AddFlag(pf, config.Debug)
	config.AddFlag(pf, config.Timeout)
	config.AddFlag(pf, config.CADir)
	config.AddFlag(pf, config.Insecure)
	config.AddFlag(pf, config.JobList)
	config.AddFlag(pf, config.Auth)
	config.AddFlag(pf, config.ProxyPath)
	pf.CountVarP(&verbose, "verbose", "v", "say more on stderr (-v: which credentials and endpoints are used; -vv: as --debug)")
	pf.StringVar(&configFile, "config", "", "config file (default $XDG_CONFIG_HOME/cesub/config.yaml)")
	_ = cmd.RegisterFlagCompletionFunc("output", func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return outputFormats(c), cobra.ShellCompDirectiveNoFileComp
	})

	for _, b := range commands {
		if only != "" && b.name != only {
			continue
		}
		c := b.build(f)
		if len(b.outputs) > 0 {
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations[outputFormatsKey] = strings.Join(b.outputs, ",")
		}
		if b.ce { // every command that talks to CEs chooses its token source the same way
			cmdutil.AddTokenFlags(c.Flags())
		}
		cmd.AddCommand(c)
	}
	if only != "" { // not needed to run one named command
		cmd.CompletionOptions.DisableDefaultCmd = true
	}
	cmd.CompletionOptions.HiddenDefaultCmd = false
	for _, c := range cmd.Commands() {
		groupsRefuseUnknown(c)
	}
	return cmd
}

// outputFormatsKey is the annotation of a command that writes --output
// formats besides text and json (from the commands table).
const outputFormatsKey = "cesub:output-formats"

// outputFormats lists the --output formats command c writes.
func outputFormats(c *cobra.Command) []string {
	formats := []string{"text", "json"}
	if more, ok := c.Annotations[outputFormatsKey]; ok {
		formats = append(formats, strings.Split(more, ",")...)
	}
	return formats
}

// groupsRefuseUnknown makes every command group under the root (token,
// proxy, docs) refuse an unknown subcommand as the root does (exit 2 with
// suggestions): cobra runs a group's help for any argument, exit 0, so
// `cesub token shw` looked like success to a script.
func groupsRefuseUnknown(c *cobra.Command) {
	if !c.HasSubCommands() {
		return
	}
	if !c.Runnable() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if c.SuggestionsMinimumDistance <= 0 {
				c.SuggestionsMinimumDistance = 2
			}
			if sug := c.SuggestionsFor(args[0]); len(sug) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(sug, "\n\t")
			}
			return cmdutil.UsageError(errors.New(msg))
		}
	}
	for _, sub := range c.Commands() {
		groupsRefuseUnknown(sub)
	}
}

// Main runs cesub with the process's arguments and returns the exit code.
// SIGINT and SIGTERM cancel the command's context: network work stops, and
// what the CE has already created is still recorded on the job list before
// cesub exits with 128+signal. A second signal ends the process at once.
func Main(version string) int {
	f := &cmdutil.Factory{IO: cmdutil.System(), Version: version, Now: time.Now}
	f.Env = tokenEnv()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got atomic.Value
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		got.Store(s)
		signal.Stop(sigs) // the next one takes the default action
		fmt.Fprintf(f.IO.ErrOut, "cesub: %v: stopping\n", s)
		cancel()
	}()
	code := runAs(ctx, f, os.Args)
	signal.Stop(sigs)
	close(sigs)
	if s, ok := got.Load().(syscall.Signal); ok {
		return 128 + int(s)
	}
	return code
}

// runAs runs cesub, or the tool it emulates when invoked under that tool's
// name (internal/cli/compat).
func runAs(ctx context.Context, f *cmdutil.Factory, argv []string) int {
	if t, ok := compat.Lookup(argv[0]); ok {
		prepare(f)
		defer f.IO.Flush()
		return t.Run(ctx, f, argv[1:])
	}
	return Run(ctx, f, argv[1:])
}

// prepare readies a factory for a run: the output layer (the one place
// server text is made safe to print, see cmdutil) and the defaults.
func prepare(f *cmdutil.Factory) {
	f.IO.Guard()
	if f.Debugf == nil {
		f.Debugf = func(string, ...any) {}
	}
	if f.Infof == nil {
		f.Infof = func(string, ...any) {}
	}
	if f.Now == nil {
		f.Now = time.Now
	}
}

// Run executes args against factory f; exported for tests.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	prepare(f)
	defer f.IO.Flush()
	cmd := newCmdRoot(f, commandNamed(args))
	cmd.SetArgs(args)
	cmd.SetIn(f.IO.In)
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	code := cmdutil.CodeOf(err)
	var ee *cmdutil.ExitErr
	if errors.As(err, &ee) && ee.Err == nil {
		return code
	}
	if code == cmdutil.ExitError && isUsage(err) {
		code = cmdutil.ExitUsage
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return code // stopped by a signal: Main has said so
	}
	msg := err.Error()
	if code != cmdutil.ExitUsage { // a usage message is cesub's own, laid out as it is
		msg = cmdutil.IndentLines(msg)
	}
	fmt.Fprintln(f.IO.ErrOut, "cesub: "+msg)
	return code
}

// isUsage recognises cobra's own argument and flag errors.
func isUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "if any flags in the group"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// sinceStart is a debug line's time stamp: how long the command has run.
func sinceStart(t time.Time) string {
	return fmt.Sprintf("%7.3fs", time.Since(t).Seconds())
}
