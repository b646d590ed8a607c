package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/restkit/restkit/client"
)

// lsConfig holds ls's flags.
type lsConfig struct {
	Prefix string
	Sort   string
	Format string
}

func newLsCmd(r *remote) *cobra.Command {
	c := lsConfig{Format: formatAuto}
	cmd := &cobra.Command{
		Use:   "ls [DIR]",
		Short: "List the directories, or the artefacts of a directory",
		Long: `Without DIR, list the repository's directories (name, artefacts, size,
last update). With DIR, list the latest version of each artefact in it, every
page of it.

` + formatHelp,
		Example: `  restkit ls
  restkit ls releases --prefix app- --sort -updated
  restkit ls releases | jq -r .id`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			}
			return report(cmd, runLs(cmd, r, &c, dir))
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Prefix, "prefix", "", "only the artefacts whose id starts with this (needs DIR)")
	f.StringVar(&c.Sort, "sort", "", "order: name (default), updated or size; -updated etc. for descending (needs DIR)")
	f.StringVar(&c.Format, "format", formatAuto, "output: auto, table or json (JSON lines)")
	return cmd
}

func runLs(cmd *cobra.Command, r *remote, c *lsConfig, dir string) error {
	table, err := tableOutput(cmd, c.Format)
	if err != nil {
		return err
	}
	cl := r.client(cmd)
	w := cmd.OutOrStdout()
	if dir != "" {
		arts, err := cl.List(cmd.Context(), dir, client.ListOptions{Prefix: c.Prefix, Sort: c.Sort})
		if err != nil {
			return err
		}
		return printArtefacts(w, arts, table, true)
	}
	if c.Prefix != "" || c.Sort != "" {
		return errors.New("--prefix and --sort list a directory: give DIR")
	}
	dirs, err := cl.Directories(cmd.Context())
	if err != nil {
		return err
	}
	if !table {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, d := range dirs {
			if err := enc.Encode(client.NewDirectoryJSON(d)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DIRECTORY\tARTEFACTS\tSIZE\tUPDATED")
	for _, d := range dirs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", d.Name, d.Artefacts, humanize.IBytes(uint64(max(d.Size, 0))), when(d.Updated))
	}
	return tw.Flush()
}
