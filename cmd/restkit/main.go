// Command restkit serves a declared REST API and is its command-line client.
//
//	restkit serve [--config api.yaml] [--addr 127.0.0.1:8080] [--data ./restkit-data]
//	restkit check api.yaml
//	restkit migrate [--config api.yaml] [--data DIR] [--dry-run] [--allow-destructive]
//	restkit backup [--data DIR] -o FILE | restore FILE --data NEWDIR | verify [--data DIR]
//	restkit reload [--data DIR] | capability [NAME [on|off]]
//	restkit push DIR/ID FILE | pull DIR/ID [-o F] | ls [DIR] | versions DIR/ID | rm DIR[/ID]
//
// The client commands talk to --server (RESTKIT_SERVER) with --token (RESTKIT_TOKEN).
//
// Settings come from flags, then RESTKIT_* environment variables, then the config
// file's server section, then defaults: the first that is set wins.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(int(ee))
		}
		fmt.Fprintln(os.Stderr, "restkit:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status after the command has printed its own message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "restkit",
		Short:         "restkit turns a declaration of resources into a complete REST API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(), newCheckCmd(), newSpecCmd(), newRoutesCmd(), newHashPasswordCmd(), newCreateKeyCmd())
	root.AddCommand(newBackupCmd(), newRestoreCmd(), newVerifyCmd(), newMigrateCmd(), newReloadCmd())
	root.AddCommand(clientCommands(root)...)
	root.AddCommand(genericCommands()...)
	return root
}
