package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/metrics"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// EnvConfig names the spec file; the default is lawcket.yaml beside the executable.
const EnvConfig = syncspec.EnvConfig

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
	spec, err := syncspec.LoadFunction(getenv)
	if err != nil {
		return nil, err
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
