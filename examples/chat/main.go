package main

import (
	"context"
	"log"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

func main() {
	ctx := context.Background()
	app, err := newApp(ctx, configPath())
	if err != nil {
		log.Fatal(err) // an invalid spec lists every problem at lawcket.yaml:LINE:COL
	}
	app.Start()
}

// configPath is $LAWCKET_CONFIG (set by `lawcket dev`), else lawcket.yaml.
func configPath() string {
	if p := os.Getenv("LAWCKET_CONFIG"); p != "" {
		return p
	}
	return "lawcket.yaml"
}

// newApp builds everything once: the spec, the AWS clients, the sync
// plugin, the channels plugin and the routes.
func newApp(ctx context.Context, specPath string) (*lawcket.App, error) {
	spec, err := syncspec.Load(specPath)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(cfg)
	sync, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(db))
	if err != nil {
		return nil, err
	}
	// One Management API client for the App's replies and the publishes.
	client, err := mgmt.New(mgmt.WithAWSConfig(cfg))
	if err != nil {
		return nil, err
	}
	rooms, err := channels.New(ctx, spec, sync.Table(), channels.WithClient(db), channels.WithPoster(client))
	if err != nil {
		return nil, err
	}
	c := &chat{
		rows:  sync.Table(),
		rooms: rooms,
		reply: func(ctx context.Context, ev *lawcket.Event, v any) error { return ev.Reply(ctx, v) },
		log:   slog.Default(),
	}
	ws := lawcket.New(lawcket.WithPlugins(sync), rooms.Install(), lawcket.WithManagement(client))
	ws.On(lawcket.Connect, c.connect)
	ws.Route("send", c.send)
	ws.On(lawcket.Message, c.unknown) // $default: anything that is not send or a channels request
	return ws, nil
}
