package main

import (
	"github.com/spf13/cobra"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/openapi"
)

// newSpecCmd prints the OpenAPI 3.1 document of a config (or the demo) without
// starting a server.
func newSpecCmd() *cobra.Command {
	c := &serveConfig{}
	var serverURL string
	cmd := &cobra.Command{
		Use:   "spec [--config F]",
		Short: "Print the OpenAPI 3.1 document of a config (the built-in demo without --config)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			o := openapi.Options{ServerURL: serverURL, Webhooks: cfg.WebhookEvents(), Events: true} // every store keeps a change log
			if cfg.Artefacts != nil {
				o.Artefacts = cfg.Artefacts.Path
				a, err := newAuthority(cfg)
				if err != nil {
					return err
				}
				o.ArtefactsAnonymous = a != nil && a.RepositoryAccess().Anonymous == restkit.AnonymousRead
			}
			out, err := openapi.JSON(openapi.Build(cfg.Schema, o))
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&c.ConfigPath, "config", "", "the config file (default: RESTKIT_CONFIG, else the built-in demo)")
	cmd.Flags().StringVar(&serverURL, "server-url", "", "the servers entry of the document, e.g. https://api.example.com")
	return cmd
}
