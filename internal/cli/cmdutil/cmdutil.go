// Package cmdutil holds what every cesub command shares: the Factory that
// injects dependencies, IO streams, exit codes, output formatting, and the
// HTTP client built from the TLS settings. It contains no protocol code.
//
// # Server text
//
// Much of what cesub prints comes from a CE or an issuer: job states,
// failure reasons, error bodies, file names. The output layer, not each
// command, makes it safe, in one place: the writers IOStreams.Guard puts
// in front of stdout and stderr (Run guards the streams before any command
// runs, so every command, the error printer, -v and --debug lines pass
// through them):
//
//   - Out and ErrOut (text) show every character that can drive a terminal
//     escaped: C0 controls but newline and tab (\x1b), DEL (\x7f), bytes
//     that are not UTF-8 (\x9b), C1 controls, Unicode bidirectional controls
//     and line separators (\u009b, \u202e). cesub's own text has none of
//     these, so nothing it writes itself changes.
//   - Newline and tab pass, since cesub's own lines and tables are made of
//     them; where one field of a CE's text is printed in a line or a table
//     cell (a state, a reason), OneLine escapes newline and tab as well; the
//     printers of errors (Run's, Errorf, PrintError), warnings, -v and
//     --debug lines indent every line after the first, so that no CE text
//     starts a line of its own.
//   - JSONOut (PrintJSON) is written byte for byte as before: encoding/json
//     escapes C0 controls (ESC is \u001b), and a string's exact value stays
//     readable by scripts. (DEL, C1 and bidi characters stay as they are in
//     JSON, which is for programs, not terminals.)
//   - TermErr, for the progress lines and bars cesub draws itself, is not
//     escaped; nothing from a server is written there.
//   - DataOut is stdout untouched, for bytes the user asked for verbatim: a
//     job's file (`cat`, like cat(1)) and the token of `token get`.
//
// Every writer but DataOut also scrubs the credentials the process holds:
// the token sources register each token they read or fetch (and its JWT
// signature part), the client secret and the proxy's private key in the
// Secrets of the IOStreams, and each is replaced by [REDACTED] wherever it
// appears, in text, JSON and debug output alike, so an error body or SOAP
// fault that echoes the Authorization header prints no token. Each is also
// registered as a form and as JSON encode it, a client secret with its
// Basic credentials; 16 bytes or more of the start of one, where an error
// body was cut short, are scrubbed too. cesub test's JUnit file is scrubbed
// the same way.
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

// ExitErr carries an exit code. A nil Err means the command already said
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
	if ce.IsInputError(err) {
		return ExitUsage
	}
	return ExitError
}

// IOStreams are a command's standard streams. Guard (which Run calls
// before any command runs) puts the output layer in front of them: Out and
// ErrOut then escape control characters and scrub credentials, JSONOut
// only scrubs, DataOut is the untouched stdout.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY is true when Out is a terminal (progress and colour only then).
	OutTTY bool
	// ErrTTY is true when ErrOut is a terminal: progress lines go there.
	ErrTTY bool

	guarded bool
	secrets *Secrets
	jsonOut io.Writer // stdout for JSON: credentials scrubbed, bytes otherwise as written
	dataOut io.Writer // stdout as given: a job's file, the token `token get` was asked for
	termErr io.Writer // stderr for cesub's own terminal drawing (progress): credentials scrubbed
	flush   []*guardWriter
}

// Guard makes every text written to Out and ErrOut safe for a terminal and
// free of the credentials in Secrets (see the package documentation). It
// does this once; the streams given before are kept for JSONOut, DataOut
// and TermErr.
func (s *IOStreams) Guard() {
	if s.guarded {
		return
	}
	s.guarded = true
	if s.secrets == nil {
		s.secrets = &Secrets{}
	}
	s.dataOut = s.Out
	if s.Out != nil {
		mu := &sync.Mutex{}
		text, js := &guardWriter{mu: mu, w: s.Out, secrets: s.secrets, text: true}, &guardWriter{mu: mu, w: s.Out, secrets: s.secrets}
		s.Out, s.jsonOut = text, js
		s.flush = append(s.flush, text, js)
	}
	if s.ErrOut != nil {
		mu := &sync.Mutex{}
		text, term := &guardWriter{mu: mu, w: s.ErrOut, secrets: s.secrets, text: true}, &guardWriter{mu: mu, w: s.ErrOut, secrets: s.secrets}
		s.ErrOut, s.termErr = text, term
		s.flush = append(s.flush, text, term)
	}
}

// Flush writes out what the guarded writers held back (the start of what
// may have been a credential); Run calls it when the command ends.
func (s *IOStreams) Flush() {
	for _, g := range s.flush {
		_ = g.Flush()
	}
}

// Secrets is the registry of the credentials this process holds (nil
// before Guard: nothing is scrubbed).
func (s *IOStreams) Secrets() *Secrets {
	if s == nil {
		return nil
	}
	return s.secrets
}

// JSONOut is stdout for JSON documents: scrubbed of credentials, not
// escaped (encoding/json escapes control characters itself).
func (s *IOStreams) JSONOut() io.Writer {
	if s.jsonOut != nil {
		return s.jsonOut
	}
	return s.Out
}

// DataOut is stdout untouched, for bytes the user asked for verbatim: a
// job's output file or log (`cesub cat`), the token of `token get`.
func (s *IOStreams) DataOut() io.Writer {
	if s.dataOut != nil {
		return s.dataOut
	}
	return s.Out
}

// TermErr is stderr for the terminal control cesub draws itself (progress
// lines and bars): scrubbed of credentials, not escaped. Server text never
// goes there.
func (s *IOStreams) TermErr() io.Writer {
	if s.termErr != nil {
		return s.termErr
	}
	return s.ErrOut
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
	fmt.Fprintln(f.IO.ErrOut, "warning: "+IndentLines(fmt.Sprintf(format, args...)))
}

// JSON reports whether -o json was asked for.
func (f *Factory) JSON() bool { return config.Get(f.Config, config.Output) == "json" }

// PrintJSON writes v as indented JSON to stdout, lists an element at a time.
// Credentials in v are scrubbed like everywhere else.
func (f *Factory) PrintJSON(v any) error {
	return writeJSON(f.IO.JSONOut(), v)
}

// PrintSecretJSON is PrintJSON for a document that holds the credential
// the user asked for (`token get -o json`, `token show --raw -o json`):
// nothing is scrubbed.
func (f *Factory) PrintSecretJSON(v any) error {
	return writeJSON(f.IO.DataOut(), v)
}

// AddSecret registers a credential the process now holds: from here on it
// is printed nowhere (see Secrets).
func (f *Factory) AddSecret(secret string) {
	if f.IO != nil {
		f.IO.Secrets().Add(secret)
	}
}

// AddClientSecret registers an OAuth2 client's secret (see AddSecret).
func (f *Factory) AddClientSecret(clientID, secret string) {
	if f.IO != nil {
		f.IO.Secrets().AddClientSecret(clientID, secret)
	}
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
