package proxycmd

import (
	"errors"
	"fmt"
	"io/fs"
	"text/tabwriter"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/x509proxy"
	"github.com/spf13/cobra"
)

// InfoOptions of `cesub proxy info`.
type InfoOptions struct {
	F      *cmdutil.Factory
	Exists bool
	Valid  time.Duration
}

// NewCmdInfo builds `proxy info`.
func NewCmdInfo(f *cmdutil.Factory, runF func(*InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{F: f}
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the proxy: subject, identity, type, time left (like arcproxy -I)",
		Long: `Show the proxy's subject, issuer, the identity (user certificate subject) it
stands for, its type, key size and the time left, and check its structure
(key matches, each certificate signed by the next, within validity).

For scripts: --exists prints nothing and exits 0 when a usable proxy is there,
4 otherwise; --valid D also demands at least D left (like grid-proxy-info
-exists -valid).`,
		Example: `  cesub proxy info
  cesub proxy info --exists --valid 2h || cesub proxy init
  cesub proxy info -o json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return infoRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Exists, "exists", "e", false, "print nothing; exit 0 if a usable proxy exists, else 4")
	cmd.Flags().DurationVar(&opts.Valid, "valid", 0, "with --exists: demand at least this much time left")
	return cmd
}

func infoRun(opts *InfoOptions) error {
	f := opts.F
	path := f.ProxyPath()
	cred, err := x509proxy.LoadProxy(path)
	if err != nil {
		if opts.Exists {
			return cmdutil.Silent(cmdutil.ExitAuth)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return cmdutil.AuthError(fmt.Errorf("no proxy at %s (make one with `cesub proxy init`)", path))
		}
		return cmdutil.AuthError(err)
	}
	now := f.Now()
	j := describe(path, cred, now)
	if opts.Exists {
		if !j.Valid || time.Duration(j.SecondsLeft)*time.Second < opts.Valid {
			return cmdutil.Silent(cmdutil.ExitAuth)
		}
		return nil
	}
	if f.JSON() {
		if err := f.PrintJSON(j); err != nil {
			return err
		}
	} else {
		w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "path:\t%s\n", j.Path)
		fmt.Fprintf(w, "subject:\t%s\n", j.Subject)
		fmt.Fprintf(w, "issuer:\t%s\n", j.Issuer)
		fmt.Fprintf(w, "identity:\t%s\n", j.Identity)
		fmt.Fprintf(w, "type:\t%s\n", j.Type)
		fmt.Fprintf(w, "key:\t%d bits\n", j.KeyBits)
		fmt.Fprintf(w, "chain:\t%d certificates\n", j.ChainLength)
		fmt.Fprintf(w, "valid from:\t%s\n", j.NotBefore.Local().Format(time.RFC3339))
		left := "EXPIRED"
		if j.SecondsLeft > 0 {
			left = (time.Duration(j.SecondsLeft) * time.Second).String() + " left"
		}
		fmt.Fprintf(w, "valid until:\t%s (%s)\n", j.NotAfter.Local().Format(time.RFC3339), left)
		if j.Problem != "" {
			fmt.Fprintf(w, "problem:\t%s\n", j.Problem)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if !j.Valid {
		return cmdutil.Silent(cmdutil.ExitAuth)
	}
	return nil
}
