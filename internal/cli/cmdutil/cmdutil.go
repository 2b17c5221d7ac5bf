// Package cmdutil holds what every cesub command shares: the Factory that
// injects dependencies, IO streams, exit codes, output formatting, and the
// HTTP client built from the TLS settings. It contains no protocol code.
package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/internal/endpoints"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/token"
	"github.com/cesub/cesub/pkg/x509proxy"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes, documented in docs/exit-codes.md.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitUsage   = 2
	ExitPartial = 3
	ExitAuth    = 4
)

// ExitError carries an exit code. A nil Err means the command already said
// everything and only the code remains.
type ExitErr struct {
	Code int
	Err  error
}

func (e *ExitErr) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitErr) Unwrap() error { return e.Err }

// AuthFailure lets bulk operations see an authentication failure (exit 4).
func (e *ExitErr) AuthFailure() bool { return e.Code == ExitAuth }

// AuthError marks an authentication/authorization failure (exit 4).
func AuthError(err error) error { return &ExitErr{Code: ExitAuth, Err: err} }

// UsageError marks bad invocation (exit 2).
func UsageError(err error) error { return &ExitErr{Code: ExitUsage, Err: err} }

// Silent is an exit code with nothing more to print.
func Silent(code int) error { return &ExitErr{Code: code} }

// CodeOf maps an error to its exit code.
func CodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitErr
	if errors.As(err, &ee) {
		return ee.Code
	}
	if token.IsRefusal(err) || ce.IsAuthFailure(err) {
		return ExitAuth
	}
	return ExitError
}

// LockedWriter serialises writes to W: messages written from several
// goroutines (debug lines of parallel connections) come out whole.
type LockedWriter struct {
	mu sync.Mutex
	W  io.Writer
}

func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.W.Write(p)
}

// IOStreams are a command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY is true when Out is a terminal (progress and colour only then).
	OutTTY bool
	// ErrTTY is true when ErrOut is a terminal: progress lines go there.
	ErrTTY bool
}

// System returns the process's streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd()))}
}

// Factory carries the dependencies commands use, so tests can swap them.
type Factory struct {
	IO      *IOStreams
	Env     token.Env
	Now     func() time.Time
	Version string
	// Config is resolved after flags are parsed (set by the root command).
	Config *config.Config
	// Debugf prints a debug line when --debug (or -vv) is on.
	Debugf func(format string, args ...any)
	// Infof prints an informational line with -v.
	Infof func(format string, args ...any)

	proxyOnce sync.Once // the proxy is read and checked once per command
	proxy     *x509proxy.Credential
	proxyErr  error

	tokensOnce    sync.Once // the token settings are resolved once per command
	tokens        *Tokens
	tokensErr     error
	allTokensOnce sync.Once // and with the endpoint file's sources
	allTokens     *Tokens
	allTokensErr  error
	endpointsOnce sync.Once // the endpoint file is read once per command
	endpoints     *endpoints.File
	endpointsErr  error

	hintMu sync.Mutex
	hinted map[string]bool // hints already printed by this command
}

// Hint prints what the usual network and TLS failures mean, once per
// command for each hint however many errors it explains.
func (f *Factory) Hint(err error) {
	h := ce.ConnectHint(err, "")
	if h == "" {
		return
	}
	f.hintMu.Lock()
	defer f.hintMu.Unlock()
	if f.hinted[h] {
		return
	}
	if f.hinted == nil {
		f.hinted = map[string]bool{}
	}
	f.hinted[h] = true
	fmt.Fprintln(f.IO.ErrOut, "cesub: hint: "+h)
}

// Warnf prints a warning line to stderr.
func (f *Factory) Warnf(format string, args ...any) {
	fmt.Fprintf(f.IO.ErrOut, "warning: "+format+"\n", args...)
}

// JSON reports whether -o json was asked for.
func (f *Factory) JSON() bool { return config.Get(f.Config, config.Output) == "json" }

// PrintJSON writes v as indented JSON to stdout, lists an element at a time.
func (f *Factory) PrintJSON(v any) error {
	return writeJSON(f.IO.Out, v)
}

// CompleteFlavours completes --flavour with the registered CE flavours.
func CompleteFlavours(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, f := range ce.Backends.Flavours() {
		in, _ := ce.Backends.Info(f)
		out = append(out, string(f)+"\t"+in.Label)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
