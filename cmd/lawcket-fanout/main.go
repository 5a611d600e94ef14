package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/metrics"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// EnvConfig names the spec file; the default is lawcket.yaml beside the executable.
const EnvConfig = "LAWCKET_CONFIG"

// EnvMetricsNamespace turns on CloudWatch EMF metrics, one line per job on
// stdout, in this namespace.
const EnvMetricsNamespace = "LAWCKET_METRICS_NAMESPACE"

func main() {
	w, err := newWorker(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lawcket-fanout: %v\n", err)
		os.Exit(1) // Lambda reports the init failure (Runtime.ExitError)
	}
	lambda.Start(w.HandleSQS)
}

// newWorker loads the spec and builds the table, the Management API client
// and the worker, once per execution environment.
func newWorker(ctx context.Context, getenv func(string) string) (*fanout.Worker, error) {
	path := getenv(EnvConfig)
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("locate the executable to find lawcket.yaml beside it (set %s): %w", EnvConfig, err)
		}
		path = filepath.Join(filepath.Dir(exe), "lawcket.yaml")
	}
	spec, err := syncspec.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no spec at %s: ship lawcket.yaml beside the bootstrap or set %s: %w", path, EnvConfig, err)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid spec:\n%w", err)
	}
	table, err := dynamo.NewTable(ctx, spec)
	if err != nil {
		return nil, err
	}
	client, err := mgmt.New()
	if err != nil {
		return nil, err
	}
	w, err := fanout.NewWorker(client, table, slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	if err != nil {
		return nil, err
	}
	if ns := getenv(EnvMetricsNamespace); ns != "" {
		e, err := metrics.New(os.Stdout, ns)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvMetricsNamespace, err)
		}
		w.WithMetrics(e)
	}
	return w, nil
}
