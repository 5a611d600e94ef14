package devgw_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/internal/devgw"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// TestTableFromSpec: Start creates the spec's table and GSIs in the embedded
// DynamoDB, and RowsOutput shows the rows after each connect and disconnect.
func TestTableFromSpec(t *testing.T) {
	rows := &testsupport.SyncBuffer{}
	g, _ := start(t, devgw.Config{SpecPath: "testdata/lawcket.yaml", RowsOutput: rows})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if g.TableName() != "devgw-connections" {
		t.Fatalf("table %q", g.TableName())
	}
	db, err := g.DynamoDBClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(g.TableName())})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Table.GlobalSecondaryIndexes) != 1 || aws.ToString(desc.Table.GlobalSecondaryIndexes[0].IndexName) != "room-index" {
		t.Errorf("GSIs %+v, want room-index", desc.Table.GlobalSecondaryIndexes)
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(g.TableName()), Item: map[string]types.AttributeValue{
		"connectionId": &types.AttributeValueMemberS{Value: "Xrow"},
		"room":         &types.AttributeValueMemberS{Value: "r1"},
	}}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, g.URL())
	id := connectEvent(t, c).RequestContext.ConnectionID
	c.Close(1000, "")
	want := "table devgw-connections after $disconnect " + id + ": 1 rows\n  {\"connectionId\":\"Xrow\",\"room\":\"r1\"}\n"
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(rows.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("rows output:\n%s\nwant it to contain:\n%s", rows.String(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExternalDynamoDB: with DynamoDBEndpoint (dynalite here) the table is
// created when missing, kept when it exists, and the handler is pointed at it.
func TestExternalDynamoDB(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	for _, round := range []string{"created", "kept"} {
		t.Run(round, func(t *testing.T) {
			g, out := start(t, devgw.Config{SpecPath: "testdata/lawcket.yaml", DynamoDBEndpoint: endpoint})
			if g.DynamoDBEndpoint() != endpoint {
				t.Errorf("endpoint %q, want %q", g.DynamoDBEndpoint(), endpoint)
			}
			want := map[string]string{"created": "created table", "kept": "table exists; keeping it"}[round]
			if !strings.Contains(out.String(), want) {
				t.Errorf("log does not say %q:\n%s", want, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			desc, err := dynalitetest.Client(endpoint).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("devgw-connections")})
			if err != nil || desc.Table.TableStatus != types.TableStatusActive {
				t.Fatalf("DescribeTable: %v", err)
			}
		})
	}
}
