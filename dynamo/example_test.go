package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// exampleSpec is lawckettest's: room (required, indexed) and user from the query.
const exampleSpec = lawckettest.RoomSpec

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
	req := lawckettest.Connect(lawckettest.Query("room", "lobby"), lawckettest.Query("user", "ada"))
	now := time.Date(2024, 11, 11, 11, 35, 24, 0, time.UTC)
	item, err := dynamo.BuildItem(spec, &req, now)
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

// The sync plugin is built once, in main, and given to the wrapper:
//
//	spec, err := syncspec.Load("lawcket.yaml") // every problem, at lawcket.yaml:LINE:COL
//	sync, err := dynamo.NewPlugin(ctx, spec)   // AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB
//	lawcket.New(lawcket.WithPlugins(sync)).Start()
//
// Here the client is an in-memory table and the events come from
// lawckettest, so the example runs anywhere.
func ExampleNewPlugin() {
	ctx := context.Background()
	spec, err := syncspec.Parse("lawcket.yaml", []byte(exampleSpec), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	db := newMemClient()
	sync, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(db))
	if err != nil {
		log.Fatal(err)
	}
	app := lawcket.New(lawcket.WithPlugins(sync))

	resp, err := lawckettest.Invoke(ctx, app, lawckettest.JSON(lawckettest.Connect(lawckettest.ConnectionID("c-1"), lawckettest.Query("room", "lobby"), lawckettest.Query("user", "ada"))))
	fmt.Println("connect:", resp.StatusCode, err, db.ids())
	row, err := sync.Table().Get(ctx, "c-1")
	fmt.Println(row.ConnectionID, row.Stage, row.ConnectedAt.Format(time.RFC3339), err)

	resp, err = lawckettest.Invoke(ctx, app, lawckettest.JSON(lawckettest.Disconnect(lawckettest.ConnectionID("c-1"))))
	fmt.Println("disconnect:", resp.StatusCode, err, db.ids())
	// Output:
	// connect: 200 <nil> [c-1]
	// c-1 prod 2024-11-11T11:35:24Z <nil>
	// disconnect: 200 <nil> []
}

// Broadcast-style reading: every live connection in one room, all pages.
func ExampleTable_Connections() {
	ctx := context.Background()
	spec, err := syncspec.Parse("lawcket.yaml", []byte(exampleSpec), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	db := newMemClient()
	table, err := dynamo.NewTable(ctx, spec, dynamo.WithClient(db)) // without WithClient: the default AWS config
	if err != nil {
		log.Fatal(err)
	}
	for i, room := range []string{"lobby", "games", "lobby"} {
		req := lawckettest.Connect(lawckettest.ConnectionID(fmt.Sprintf("c-%d", i)), lawckettest.Query("room", room))
		item, err := dynamo.BuildItem(spec, &req, time.Now())
		if err != nil {
			log.Fatal(err)
		}
		if err := table.Put(ctx, item); err != nil {
			log.Fatal(err)
		}
	}
	for row, err := range table.Connections(ctx, dynamo.Selector{Field: "room", Value: "lobby"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(row.ConnectionID, row.DomainName, row.Stage)
	}
	// Output:
	// c-0 abc123def4.execute-api.eu-west-1.amazonaws.com prod
	// c-2 abc123def4.execute-api.eu-west-1.amazonaws.com prod
}

// A message handler reads its sender's row; a connection without one (or
// whose row expired) is ErrNotFound.
func ExampleTable_Get() {
	ctx := context.Background()
	spec, err := syncspec.Parse("lawcket.yaml", []byte(exampleSpec), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	table, err := dynamo.NewTable(ctx, spec, dynamo.WithClient(newMemClient()))
	if err != nil {
		log.Fatal(err)
	}
	req := lawckettest.Connect(lawckettest.Query("room", "lobby"), lawckettest.Query("user", "ada"))
	item, err := dynamo.BuildItem(spec, &req, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	if err := table.Put(ctx, item); err != nil {
		log.Fatal(err)
	}
	row, err := table.Get(ctx, lawckettest.DefaultConnectionID)
	var user string
	if err == nil {
		err = attributevalue.Unmarshal(row.Item["user"], &user)
	}
	fmt.Println(row.ConnectionID, user, err)
	_, err = table.Get(ctx, "never-connected")
	fmt.Println(errors.Is(err, dynamo.ErrNotFound))
	// Output:
	// BQ1a2ecXDoECJQg= ada <nil>
	// true
}

func ExampleItemSize() {
	req := lawckettest.Connect(lawckettest.Query("room", "lobby"), lawckettest.Query("user", "ada"))
	spec, err := syncspec.Parse("lawcket.yaml", []byte(exampleSpec), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	item, err := dynamo.BuildItem(spec, &req, time.Unix(0, 0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dynamo.ItemSize(item), "of", dynamo.MaxItemSize, "bytes")
	// Output: 139 of 409600 bytes
}

// NewTable without WithClient builds its client from the default AWS config
// (AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB); WithClock fixes the
// time rows expire against.
func ExampleNewTable() {
	ctx := context.Background()
	spec, err := syncspec.Parse("lawcket.yaml", []byte(exampleSpec), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	db := newMemClient()
	now := time.Date(2024, 11, 11, 12, 0, 0, 0, time.UTC)
	table, err := dynamo.NewTable(ctx, spec, dynamo.WithClient(db), dynamo.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	req := lawckettest.Connect(lawckettest.Query("room", "lobby"))
	item, err := dynamo.BuildItem(spec, &req, now.Add(-3*time.Hour)) // a row written three hours ago
	if err != nil {
		log.Fatal(err)
	}
	if err := table.Put(ctx, item); err != nil {
		log.Fatal(err)
	}
	_, err = table.Get(ctx, lawckettest.DefaultConnectionID)
	fmt.Println(table.Name(), errors.Is(err, dynamo.ErrNotFound)) // its 2h ttl has passed
	fmt.Println(table.Delete(ctx, lawckettest.DefaultConnectionID), db.ids())

	_, err = dynamo.NewTable(ctx, spec, dynamo.WithClock(nil))
	fmt.Println(err)
	// Output:
	// Connections true
	// <nil> []
	// dynamo: WithClock: nil clock
}
