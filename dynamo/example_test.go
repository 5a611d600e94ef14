package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/syncspec"
)

const exampleSpec = `table: Connections
ttl: 2h
fields:
  user:
    expr: query.user ?? "anonymous"
  room:
    expr: query.room ?? "lobby"
    index: true
`

func ExampleIndexName() {
	fmt.Println(dynamo.IndexName("room"))
	// Output: room-index
}

func ExampleTableDefinition() {
	spec, err := syncspec.Parse("lawcket.yaml", []byte(exampleSpec), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	in := dynamo.TableDefinition(spec, "")
	fmt.Println("table:", aws.ToString(in.TableName), in.BillingMode)
	for _, k := range in.KeySchema {
		fmt.Println("key:", aws.ToString(k.AttributeName), k.KeyType)
	}
	for _, a := range in.AttributeDefinitions {
		fmt.Println("attribute:", aws.ToString(a.AttributeName), a.AttributeType)
	}
	for _, g := range in.GlobalSecondaryIndexes {
		fmt.Println("gsi:", aws.ToString(g.IndexName), aws.ToString(g.KeySchema[0].AttributeName), g.Projection.ProjectionType)
	}
	ttl := dynamo.TimeToLiveInput(spec, "")
	fmt.Println("ttl attribute:", aws.ToString(ttl.TimeToLiveSpecification.AttributeName))
	// Output:
	// table: Connections PAY_PER_REQUEST
	// key: connectionId HASH
	// attribute: connectionId S
	// attribute: room S
	// gsi: room-index room ALL
	// ttl attribute: expiresAt
}

func ExampleBuildItem() {
	spec, err := syncspec.Parse("lawcket.yaml", []byte(exampleSpec), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	req := &events.APIGatewayWebsocketProxyRequest{
		QueryStringParameters: map[string]string{"user": "ada"},
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			ConnectionID: "BQ1a2ecXDoECJQg=",
			DomainName:   "abc123def4.execute-api.eu-west-1.amazonaws.com",
			Stage:        "prod",
			ConnectedAt:  1731324924553,
		},
	}
	now := time.Date(2024, 11, 11, 11, 35, 24, 0, time.UTC)
	item, err := dynamo.BuildItem(spec, req, now)
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, len(item))
	for name := range item {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, _ := json.Marshal(typed(item[name]))
		fmt.Printf("%s %s\n", name, b)
	}
	// Output:
	// connectedAt {"N":"1731324924553"}
	// connectionId {"S":"BQ1a2ecXDoECJQg="}
	// domainName {"S":"abc123def4.execute-api.eu-west-1.amazonaws.com"}
	// expiresAt {"N":"1731332124"}
	// room {"S":"lobby"}
	// stage {"S":"prod"}
	// user {"S":"ada"}
}

// A refusal names the field and is a 400 Rejection, which the wrapper
// answers with that status: API Gateway then refuses the client.
func ExampleBuildItem_refusal() {
	spec, err := syncspec.Parse("lawcket.yaml", []byte(`table: Connections
fields:
  room:
    expr: query.room
    required: true
`), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	req := &events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{ConnectionID: "BQ1a2ecXDoECJQg="},
	}
	_, err = dynamo.BuildItem(spec, req, time.Now())
	if rej, ok := err.(*lawcket.Rejection); ok {
		fmt.Println(rej.Status, rej.Reason)
	}
	// Output: 400 field room: required, but its expression gave nil
}

// The sync plugin is built once, in main, and given to the wrapper.
func ExampleNewPlugin() {
	ctx := context.Background()
	spec, err := syncspec.Load("lawcket.yaml")
	if err != nil {
		log.Fatal(err) // every problem, at lawcket.yaml:LINE:COL
	}
	sync, err := dynamo.NewPlugin(ctx, spec) // AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB
	if err != nil {
		log.Fatal(err)
	}
	lawcket.New(lawcket.WithPlugins(sync)).Start()
}

// Broadcast-style reading: every live connection in one room, all pages.
func ExampleTable_Connections() {
	ctx := context.Background()
	spec, err := syncspec.Load("lawcket.yaml")
	if err != nil {
		log.Fatal(err)
	}
	table, err := dynamo.NewTable(ctx, spec)
	if err != nil {
		log.Fatal(err)
	}
	for row, err := range table.Connections(ctx, dynamo.Selector{Field: "room", Value: "lobby"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(row.ConnectionID, row.DomainName, row.Stage)
	}
}
