// Package docscmd implements `cesub docs man DIR` and `cesub docs markdown DIR`,
// generated from the command tree.
package docscmd

import (
	"fmt"
	"os"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// NewCmdDocs builds `cesub docs`.
func NewCmdDocs(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "docs", Short: "Generate man pages or markdown reference from the command tree", Hidden: false}
	cmd.AddCommand(&cobra.Command{
		Use: "man DIR", Short: "Write man pages (section 1) to DIR", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			hdr := &doc.GenManHeader{Title: "CESUB", Section: "1", Source: "cesub " + f.Version, Manual: "cesub manual"}
			if err := doc.GenManTree(c.Root(), hdr, args[0]); err != nil {
				return fmt.Errorf("generate man pages: %w", err)
			}
			fmt.Fprintf(f.IO.ErrOut, "man pages written to %s\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "markdown DIR", Short: "Write a markdown reference to DIR", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			return doc.GenMarkdownTree(c.Root(), args[0])
		},
	})
	return cmd
}
