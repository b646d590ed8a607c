package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/config"
)

func newCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check CONFIG",
		Short: "Validate a configuration file and print each error with its line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			var errs config.Errors
			switch {
			case err == nil:
				for _, w := range auth.Warnings(cfg.Schema, cfg.ArtefactAccess()) {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s\n", args[0], w)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", args[0])
				return nil
			case errors.As(err, &errs):
				for _, e := range errs {
					fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
				}
				return exitError(1)
			}
			return err
		},
	}
}
