// Command main is the fixture's $connect/$disconnect/$default function: the
// lawcket wrapper with the DynamoDB sync; $default replies with what it saw.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

func main() {
	ctx := context.Background()
	spec, err := syncspec.Load(os.Getenv("LAWCKET_CONFIG"))
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	sync, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(dynamodb.NewFromConfig(cfg)))
	if err != nil {
		log.Fatal(err)
	}
	client, err := mgmt.New(mgmt.WithAWSConfig(cfg))
	if err != nil {
		log.Fatal(err)
	}
	app := lawcket.New(lawcket.WithPlugins(sync), lawcket.WithManagement(client))
	app.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
		return ev.Reply(ctx, map[string]any{
			"function":   "Main",
			"routeKey":   ev.RouteKey,
			"body":       string(ev.Body),
			"authorizer": ev.Authorizer(),
			"greeting":   os.Getenv("GREETING"),
		})
	})
	app.Start()
}
