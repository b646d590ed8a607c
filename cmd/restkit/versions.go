package main

import (
	"github.com/spf13/cobra"
)

func newVersionsCmd(r *remote) *cobra.Command {
	format := formatAuto
	cmd := &cobra.Command{
		Use:   "versions DIR/ID",
		Short: "List the versions of an artefact, newest first",
		Long:  "List every stored version of the artefact DIR/ID, newest first.\n\n" + formatHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return report(cmd, runVersions(cmd, r, args[0], format))
		},
	}
	cmd.Flags().StringVar(&format, "format", formatAuto, "output: auto, table or json (JSON lines)")
	return cmd
}

func runVersions(cmd *cobra.Command, r *remote, ref, format string) error {
	table, err := tableOutput(cmd, format)
	if err != nil {
		return err
	}
	dir, id, err := parseRef(ref, false)
	if err != nil {
		return err
	}
	vs, err := r.client(cmd).Versions(cmd.Context(), dir, id)
	if err != nil {
		return err
	}
	return printArtefacts(cmd.OutOrStdout(), vs, table, false)
}
