package localdynamo_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/internal/localdynamo"
)

// TestEmbeddedDynamoDB: the embedded DynamoDB does everything lawcket
// does, through the real SDK client over HTTP — CreateTable with a GSI, DescribeTable, PutItem, DeleteItem,
// Query on the GSI with a filter and pagination, Scan with pagination.
func TestEmbeddedDynamoDB(t *testing.T) {
	srv, err := localdynamo.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := localdynamo.Client(ctx, srv.URL(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	table := aws.String("connections")
	_, err = db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   table,
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("connectionId"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("room"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("connectionId"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("room-index"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("room"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: table})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Table.TableStatus != types.TableStatusActive || len(desc.Table.GlobalSecondaryIndexes) != 1 ||
		aws.ToString(desc.Table.GlobalSecondaryIndexes[0].IndexName) != "room-index" {
		t.Fatalf("DescribeTable: status %s, GSIs %+v", desc.Table.TableStatus, desc.Table.GlobalSecondaryIndexes)
	}
	now := time.Now().Unix()
	for i := range 30 {
		room, expires := "a", now+3600
		if i%6 == 5 {
			room = "b"
		}
		if i == 0 {
			expires = now - 10 // expired: filtered out below
		}
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: table,
			Item: map[string]types.AttributeValue{
				"connectionId": &types.AttributeValueMemberS{Value: fmt.Sprintf("c%02d", i)},
				"room":         &types.AttributeValueMemberS{Value: room},
				"expiresAt":    &types.AttributeValueMemberN{Value: strconv.FormatInt(expires, 10)},
			},
			ConditionExpression: aws.String("attribute_not_exists(connectionId)"),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: table,
		Key:       map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: "c01"}},
	}); err != nil {
		t.Fatal(err)
	}

	// Room a: 25 rows, one deleted (c01), one expired (c00) → 23, in pages of 4.
	var got, pages int
	p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
		TableName:                 table,
		IndexName:                 aws.String("room-index"),
		KeyConditionExpression:    aws.String("#r = :r"),
		FilterExpression:          aws.String("#e > :now"),
		ExpressionAttributeNames:  map[string]string{"#r": "room", "#e": "expiresAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "a"}, ":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now, 10)}},
		Limit:                     aws.Int32(4),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got += len(out.Items)
	}
	if got != 23 || pages < 6 {
		t.Errorf("Query on the GSI: %d rows in %d pages, want 23 rows in at least 6 pages", got, pages)
	}

	got, pages = 0, 0
	sp := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: table, Limit: aws.Int32(7)})
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got += len(out.Items)
	}
	if got != 29 || pages < 5 {
		t.Errorf("Scan: %d rows in %d pages, want 29 rows in at least 5 pages", got, pages)
	}
}
