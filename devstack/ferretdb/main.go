// Command ferretdb runs FerretDB v1 over PostgreSQL: a MongoDB-wire-protocol server for local
// development and tests. Embedding the library avoids the version file that `go install` lacks.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	unix := flag.String("listen-unix", "", "Unix socket path to listen on as well, if given")
	postgresqlURL := flag.String(
		"postgresql-url", "postgres://127.0.0.1:5432/ferretdb", "PostgreSQL connection string",
	)
	flag.Parse()

	server, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen, Unix: *unix},
		Handler:       "postgresql",
		PostgreSQLURL: *postgresqlURL,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	server.Run(ctx)
}
