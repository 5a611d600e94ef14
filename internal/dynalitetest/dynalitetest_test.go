package dynalitetest

import (
	"context"
	"net/url"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestCreateTableIsActive(t *testing.T) {
	c := Client(Start(t))
	ctx := context.Background()
	CreateTable(t, c, &dynamodb.CreateTableInput{
		TableName:            aws.String("Connections"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("connectionId"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("connectionId"), KeyType: types.KeyTypeHash}},
	})
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("Connections")})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Table.TableStatus != types.TableStatusActive {
		t.Fatalf("table is %s after CreateTable, want ACTIVE", desc.Table.TableStatus)
	}
}

func TestCounterCountsOperations(t *testing.T) {
	endpoint := Start(t)
	c := &Counter{}
	client := Client(endpoint, WithCounter(c))
	ctx := context.Background()
	for range 2 {
		if _, err := client.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("Nope")}); err == nil {
		t.Fatal("DescribeTable of a missing table succeeded")
	}
	if got := c.Count("ListTables"); got != 2 {
		t.Errorf("ListTables counted %d, want 2", got)
	}
	if got := c.Count(""); got != 3 {
		t.Errorf("total %d, want 3", got)
	}
	c.Reset()
	if got := c.Count(""); got != 0 {
		t.Errorf("after Reset: %d", got)
	}

	// Through a Proxy: a plain client, the same counts.
	srv, err := c.Proxy(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := Client(srv.URL).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if got := c.Count("ListTables"); got != 1 || c.Count("") != 1 {
		t.Errorf("through the proxy: ListTables %d, total %d, want 1 and 1", got, c.Count(""))
	}
}

func TestLaunch(t *testing.T) {
	Start(t) // skip (or fail under CI) like every integration test when dynalite is missing
	endpoint, stop, err := Launch()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Client(endpoint).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := Client(endpoint).ListTables(context.Background(), &dynamodb.ListTablesInput{}, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }); err == nil {
		t.Error("dynalite still answers after stop")
	}
}

// TestLaunchOnTakenPort: when another server already listens on the port,
// launch fails (its dynalite exits with EADDRINUSE) instead of handing out
// the stranger's endpoint, so parallel test packages never share a server.
func TestLaunchOnTakenPort(t *testing.T) {
	bin, err := find()
	if err != nil {
		Start(t) // skips, or fails under CI=true, with the reason
		return
	}
	stranger, err := url.Parse(Start(t)) // another dynalite: it answers ListTables too
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(stranger.Port())
	if err != nil {
		t.Fatal(err)
	}
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	endpoint, err := launch(func(f func()) { stops = append(stops, f) }, bin, port)
	if err == nil {
		t.Fatalf("launch on a taken port returned %s; want an error", endpoint)
	}
}
