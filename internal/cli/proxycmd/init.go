package proxycmd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/pkg/x509proxy"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// InitOptions of `cesub proxy init`.
type InitOptions struct {
	F              *cmdutil.Factory
	Validity       time.Duration
	Bits           int
	Limited        bool
	PassphraseFile string
	// ReadPassword prompts on the terminal (tests replace it); nil when
	// stdin is not a terminal.
	ReadPassword func(prompt string) ([]byte, error)
}

// NewCmdInit builds `proxy init`.
func NewCmdInit(f *cmdutil.Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{F: f}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make an RFC 3820 proxy from the user certificate (like arcproxy)",
		Long: `Make an RFC 3820 proxy certificate from the user certificate and key, with a
fresh RSA key, and write it (mode 0600, atomically) to the proxy file.

Keys may be PEM (PKCS#1, SEC 1, PKCS#8), legacy encrypted PEM, encrypted
PKCS#8, or a PKCS#12 bundle (--cert ~/.globus/usercred.p12). The passphrase is
read from --passphrase-file, else asked on the terminal. The validity is cut
to what the user certificate has left (with a warning).`,
		Example: `  cesub proxy init
  cesub proxy init --validity 96h --cert ~/.globus/usercred.p12
  cesub proxy init --cert usercert.pem --key userkey.pem --passphrase-file ~/.pw --proxy /tmp/myproxy`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if opts.ReadPassword == nil && term.IsTerminal(int(os.Stdin.Fd())) {
				opts.ReadPassword = func(prompt string) ([]byte, error) {
					fmt.Fprint(f.IO.ErrOut, prompt)
					defer fmt.Fprintln(f.IO.ErrOut)
					return term.ReadPassword(int(os.Stdin.Fd()))
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return initRun(opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Validity, "validity", 12*time.Hour, "proxy lifetime")
	cmd.Flags().IntVar(&opts.Bits, "bits", 2048, "RSA key size of the proxy")
	cmd.Flags().BoolVar(&opts.Limited, "limited", false, "make a limited proxy (CEs will not run jobs with it)")
	config.AddFlag(cmd.Flags(), config.CertPath)
	config.AddFlag(cmd.Flags(), config.KeyPath)
	cmd.Flags().StringVar(&opts.PassphraseFile, "passphrase-file", "", "read the key passphrase from this file (first line)")
	return cmd
}

func initRun(opts *InitOptions) error {
	f := opts.F
	if opts.Validity <= 0 {
		return cmdutil.UsageError(fmt.Errorf("--validity %s: must be positive", opts.Validity))
	}
	if opts.Bits < 1024 || opts.Bits > 8192 {
		return cmdutil.UsageError(fmt.Errorf("--bits %d: want 1024 to 8192", opts.Bits))
	}
	certPath, keyPath := f.UserCertPaths()
	if st, err := os.Stat(keyPath); err == nil && st.Mode().Perm()&0o077 != 0 && !strings.HasSuffix(certPath, ".p12") {
		f.Warnf("user key %s is readable by others (mode %04o); run chmod 400 on it", keyPath, st.Mode().Perm())
	}

	pass := func(what string) ([]byte, error) {

		if opts.PassphraseFile != "" {
			b, err := os.ReadFile(opts.PassphraseFile)
			if err != nil {
				return nil, fmt.Errorf("passphrase file: %w", err)
			}
			line, _, _ := bytes.Cut(b, []byte("\n"))
			return bytes.TrimSuffix(line, []byte("\r")), nil
		}
		if opts.ReadPassword == nil {
			return nil, fmt.Errorf("%s is encrypted: give --passphrase-file or run on a terminal", what)
		}
		return opts.ReadPassword("Enter pass phrase for " + what + ": ")
	}
	user, err := x509proxy.LoadUserCredential(certPath, keyPath, pass)
	if errors.Is(err, x509proxy.ErrWrongPassphrase) {
		return cmdutil.AuthError(err)
	}
	if err != nil {
		return cmdutil.AuthError(fmt.Errorf("%w (set --cert/--key or X509_USER_CERT/X509_USER_KEY)", err))
	}
	now := f.Now()
	if left := user.TimeLeft(now); left < opts.Validity {
		if left <= 0 {
			return cmdutil.AuthError(fmt.Errorf("user certificate %s expired at %s", certPath, user.NotAfter().UTC().Format(time.RFC3339)))
		}
		f.Warnf("the user certificate expires in %s: the proxy lives only that long", left.Round(time.Minute))
	}
	proxy, err := x509proxy.NewProxy(user, x509proxy.Options{Lifetime: opts.Validity, Bits: opts.Bits, Limited: opts.Limited, Now: f.Now})
	if err != nil {
		return err
	}
	path := f.ProxyPath()
	if err := x509proxy.WriteFile(path, proxy); err != nil {
		return err
	}
	j := describe(path, proxy, now)
	if f.JSON() {
		return f.PrintJSON(j)
	}
	w := bufio.NewWriter(f.IO.Out)
	fmt.Fprintf(w, "Proxy %s written: %s, valid until %s (%s)\n", path, j.Type, j.NotAfter.Local().Format(time.RFC3339),
		time.Duration(j.SecondsLeft)*time.Second)
	fmt.Fprintf(w, "Identity: %s\n", j.Identity)
	return w.Flush()
}
