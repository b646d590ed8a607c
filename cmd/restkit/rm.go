package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newRmCmd(r *remote) *cobra.Command {
	var version int64
	cmd := &cobra.Command{
		Use:   "rm DIR[/ID]",
		Short: "Delete an artefact, one of its versions, or a whole directory",
		Long: `Delete the artefact DIR/ID with every version, or with --version N only that
version, or with a bare DIR the directory and everything in it. Nothing is
printed on success.`,
		Example: `  restkit rm releases/app-1.2.tar.gz --version 1
  restkit rm releases/app-1.2.tar.gz
  restkit rm releases`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return report(cmd, runRm(cmd, r, args[0], version))
		},
	}
	cmd.Flags().Int64Var(&version, "version", 0, "delete only this version (needs DIR/ID)")
	return cmd
}

func runRm(cmd *cobra.Command, r *remote, ref string, version int64) error {
	dir, id, err := parseRef(ref, true)
	if err != nil {
		return err
	}
	if version < 0 || (version > 0 && id == "") || (cmd.Flags().Changed("version") && version == 0) {
		return errors.New("--version needs DIR/ID and a version number of 1 or more")
	}
	return r.client(cmd).Delete(cmd.Context(), dir, id, version)
}
