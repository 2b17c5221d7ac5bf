package proxycmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

// DestroyOptions of `cesub proxy destroy`.
type DestroyOptions struct {
	F *cmdutil.Factory
}

// DestroyJSON is the schema of `proxy destroy -o json`.
type DestroyJSON struct {
	Schema  string `json:"schema"`
	Path    string `json:"path"`
	Removed bool   `json:"removed"`
}

// NewCmdDestroy builds `proxy destroy`.
func NewCmdDestroy(f *cmdutil.Factory, runF func(*DestroyOptions) error) *cobra.Command {
	opts := &DestroyOptions{F: f}
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Remove the proxy file (like arcproxy -r); no proxy is not an error",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return destroyRun(opts)
		},
	}
	return cmd
}

func destroyRun(opts *DestroyOptions) error {
	f := opts.F
	path := f.ProxyPath()
	err := os.Remove(path)
	removed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing proxy: %w", err)
	}
	if f.JSON() {
		return f.PrintJSON(DestroyJSON{Schema: "cesub.proxy.destroy/v1", Path: path, Removed: removed})
	}
	if removed {
		fmt.Fprintf(f.IO.Out, "Proxy %s removed\n", path)
	} else {
		fmt.Fprintf(f.IO.Out, "No proxy at %s\n", path)
	}
	return nil
}
