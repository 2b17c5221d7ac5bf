// Package arctools emulates the ARC client's commands (arcsub, arcstat,
// arcget, arckill, arcclean, arccat, arcresume, arcrenew, arcinfo, arcsync, arcproxy): their options, output and exit
// codes, over cesub's job lifecycle (internal/jobs). The jobs are those of
// ARC's own job list, ~/.arc/jobs.dat or -j FILE (internal/arcjoblist), so
// that the real ARC client and these emulations share one list.
package arctools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/cli/compat/tool"
	"github.com/cesub/cesub/internal/config"
	"github.com/spf13/pflag"
)

// emulated is the ARC client whose behaviour the tools follow.
const emulated = "the ARC 7 client"

// Tools lists the ARC commands cesub answers to.
func Tools() []tool.Tool {
	return []tool.Tool{
		arcTool("arcsub", runSub),
		arcTool("arcstat", runStat),
		arcTool("arcget", runGet),
		arcTool("arckill", runKill),
		arcTool("arcclean", runClean),
		arcTool("arccat", runCat),
		arcTool("arcresume", runResume),
		arcTool("arcrenew", runRenew),
		arcTool("arcinfo", runInfo),
		arcTool("arcsync", runSync),
		arcTool("arcproxy", runProxy),
	}
}

func arcTool(name string, run func(ctx context.Context, s *session, args []string) int) tool.Tool {
	return tool.Tool{Name: name, Emulates: "ARC client 7 " + name, Family: "arc",
		Run: func(ctx context.Context, f *cmdutil.Factory, args []string) int {
			return run(ctx, &session{f: f, tool: name}, args)
		}}
}

// common are the options every ARC job tool takes.
type common struct {
	conf    string
	joblist string
	timeout int
	debug   string
	version bool
	help    bool
}

// addCommon registers the options every ARC tool has on fs.
func (c *common) addCommon(fs *pflag.FlagSet) {
	fs.StringVarP(&c.conf, "conffile", "z", "", "configuration file (default ~/.arc/client.conf)")
	fs.StringVarP(&c.joblist, "joblist", "j", "", "the file storing information about active jobs (default ~/.arc/jobs.dat)")
	fs.IntVarP(&c.timeout, "timeout", "t", 0, "timeout in seconds (default 20)")
	fs.StringVarP(&c.debug, "debug", "d", "", "FATAL, ERROR, WARNING, INFO, VERBOSE or DEBUG")
	fs.BoolVarP(&c.version, "version", "v", false, "print version information")
	fs.BoolVarP(&c.help, "help", "h", false, "print help")
	fs.BoolP("usage", "?", false, "print help")
}

// newFlags is a flag set that reports errors as ARC's tools do.
func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	return fs
}

// parse reads args; it returns an exit code and false when the tool must
// stop (a bad option, --version, --help).
func (s *session) parse(fs *pflag.FlagSet, c *common, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(s.f.IO.ErrOut, unknownOption(err))
		return 1, false
	}
	if u, _ := fs.GetBool("usage"); c.help || u {
		fmt.Fprintf(s.f.IO.Out, "Usage:\n  %s [OPTION...] %s\n\n%s", s.tool, fs.Name(), fs.FlagUsages())
		return 0, false
	}
	if c.version {
		fmt.Fprintf(s.f.IO.Out, "%s (cesub %s, emulating %s)\n", s.tool, s.f.Version, emulated)
		return 0, false
	}
	if err := s.configure(c); err != nil {
		fmt.Fprintf(s.f.IO.ErrOut, "ERROR: %v\n", err)
		return 1, false
	}
	return 0, true
}

// unknownOption words pflag's error as glib's option parser (ARC's) does.
func unknownOption(err error) string {
	msg := err.Error()
	for _, p := range []string{"unknown flag: ", "unknown shorthand flag: "} {
		if strings.HasPrefix(msg, p) {
			opt := strings.TrimPrefix(msg, p)
			if i := strings.Index(opt, " in "); i >= 0 { // 'x' in -x
				opt = opt[i+4:]
			}
			return "Unknown option " + opt
		}
	}
	return msg
}

// configure loads cesub's settings (~/.arc/client.conf among them, or -z)
// and applies -t and -d.
func (s *session) configure(c *common) error {
	home := s.home()
	cfg, err := config.Load(config.Options{Getenv: s.f.Env.Getenv, Home: home})
	if err != nil {
		return err
	}
	fs := pflag.NewFlagSet("arc", pflag.ContinueOnError)
	config.AddFlag(fs, config.Timeout)
	if c.timeout > 0 {
		_ = fs.Set("timeout", fmt.Sprint(c.timeout))
	}
	cfg.BindFlags(fs)
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.f.Config = cfg
	s.debugLevel(c.debug)
	s.arcList = c.joblist
	if s.arcList == "" {
		s.arcList = joblistFromConf(c.conf, home)
	}
	return nil
}

// debugLevel shows cesub's -v lines at INFO and VERBOSE, its debug lines at DEBUG.
func (s *session) debugLevel(level string) {
	f := s.f
	switch strings.ToUpper(level) {
	case "DEBUG":
		f.Debugf = func(format string, args ...any) {
			fmt.Fprintln(f.IO.ErrOut, "DEBUG: "+cmdutil.IndentLines(fmt.Sprintf(format, args...)))
		}
		fallthrough
	case "VERBOSE", "INFO":
		f.Infof = func(format string, args ...any) {
			fmt.Fprintln(f.IO.ErrOut, "INFO: "+cmdutil.IndentLines(fmt.Sprintf(format, args...)))
		}
	}
}

// home is $HOME, as ARC's client finds ~/.arc.
func (s *session) home() string {
	if h := s.f.Env.Getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// errorf prints an ARC-style error line.
func (s *session) errorf(format string, args ...any) {
	fmt.Fprintln(s.f.IO.ErrOut, "ERROR: "+cmdutil.IndentLines(fmt.Sprintf(format, args...)))
}

// exitOf is an error's exit code in ARC's terms: every failure is 1.
func exitOf(err error) int {
	var ee *cmdutil.ExitErr
	if err == nil || errors.As(err, &ee) && ee.Code == 0 {
		return 0
	}
	return 1
}
