package localdynamo_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
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
	srv, err := localdynamo.Start(localdynamo.Options{})
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

// TestIndexedQueryMatchesMinidyn runs the same writes against the indexed
// store and against minidyn alone (NoIndex), then compares what every
// indexed Query shape returns, page by page.
func TestIndexedQueryMatchesMinidyn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var dbs []*dynamodb.Client
	for _, opts := range []localdynamo.Options{{}, {NoIndex: true}} {
		srv, err := localdynamo.Start(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		db, err := localdynamo.Client(ctx, srv.URL(), "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	table := aws.String("t")
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }
	key := func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"connectionId": s(id)}
	}
	ops := []func(db *dynamodb.Client) error{
		func(db *dynamodb.Client) error {
			_, err := localdynamo.EnsureTable(ctx, db, &dynamodb.CreateTableInput{
				TableName:   table,
				BillingMode: types.BillingModePayPerRequest,
				AttributeDefinitions: []types.AttributeDefinition{
					{AttributeName: aws.String("connectionId"), AttributeType: types.ScalarAttributeTypeS},
					{AttributeName: aws.String("room"), AttributeType: types.ScalarAttributeTypeS},
					{AttributeName: aws.String("level"), AttributeType: types.ScalarAttributeTypeN},
				},
				KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("connectionId"), KeyType: types.KeyTypeHash}},
				GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
					{IndexName: aws.String("room-index"), KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("room"), KeyType: types.KeyTypeHash}},
						Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}},
					{IndexName: aws.String("level-index"), KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("level"), KeyType: types.KeyTypeHash}},
						Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}},
				},
			})
			return err
		},
	}
	for i := range 40 {
		ops = append(ops, func(db *dynamodb.Client) error {
			item := key(fmt.Sprintf("c%02d", i))
			item["room"] = s(fmt.Sprintf("r%d", i%3))
			item["level"] = n(i % 2)
			item["text"] = s("x")
			if i == 7 {
				delete(item, "room") // not in room-index (sparse)
			}
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item})
			return err
		})
	}
	ops = append(ops,
		func(db *dynamodb.Client) error { // moves c01 from r1 to r2
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key("c01"),
				UpdateExpression: aws.String("SET room = :r"), ExpressionAttributeValues: map[string]types.AttributeValue{":r": s("r2")}})
			return err
		},
		func(db *dynamodb.Client) error {
			_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key("c02")})
			return err
		},
		func(db *dynamodb.Client) error { // a refused conditional put changes nothing
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]types.AttributeValue{"connectionId": s("c03"), "room": s("r9")},
				ConditionExpression: aws.String("attribute_not_exists(connectionId)")})
			if err == nil {
				return fmt.Errorf("conditional put over an existing row succeeded")
			}
			return nil
		},
		func(db *dynamodb.Client) error {
			_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"t": {
				{DeleteRequest: &types.DeleteRequest{Key: key("c04")}},
				{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{"connectionId": s("c99"), "room": s("r0"), "level": n(1)}}},
			}}})
			return err
		},
	)
	for i, op := range ops {
		for j, db := range dbs {
			if err := op(db); err != nil {
				t.Fatalf("op %d on store %d: %v", i, j, err)
			}
		}
	}
	queries := map[string]*dynamodb.QueryInput{
		"room r0, pages of 4": {IndexName: aws.String("room-index"), KeyConditionExpression: aws.String("#k = :v"),
			ExpressionAttributeNames: map[string]string{"#k": "room"}, ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("r0")}, Limit: aws.Int32(4)},
		"room r2, one page": {IndexName: aws.String("room-index"), KeyConditionExpression: aws.String("room = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("r2")}},
		"room r2, backwards in pages of 5": {IndexName: aws.String("room-index"), KeyConditionExpression: aws.String("room = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("r2")}, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(5)},
		"no such room": {IndexName: aws.String("room-index"), KeyConditionExpression: aws.String("room = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("nope")}},
		"level 1, keys only": {IndexName: aws.String("level-index"), KeyConditionExpression: aws.String("#l = :v"),
			ExpressionAttributeNames: map[string]string{"#l": "level"}, ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(1)}},
		"count of r1": {IndexName: aws.String("room-index"), KeyConditionExpression: aws.String("room = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("r1")}, Select: types.SelectCount},
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			var results [2][]string
			var counts [2]int32
			for j, db := range dbs {
				in := *q
				in.TableName = table
				p := dynamodb.NewQueryPaginator(db, &in)
				for p.HasMorePages() {
					out, err := p.NextPage(ctx)
					if err != nil {
						t.Fatalf("store %d: %v", j, err)
					}
					counts[j] += out.Count
					for _, item := range out.Items {
						id := item["connectionId"].(*types.AttributeValueMemberS).Value
						var attrs []string
						for k := range item {
							attrs = append(attrs, k)
						}
						sort.Strings(attrs)
						results[j] = append(results[j], id+"("+strings.Join(attrs, ",")+")")
					}
				}
				if q.ScanIndexForward == nil {
					sort.Strings(results[j]) // minidyn's GSI order is its own
				}
			}
			if q.ScanIndexForward != nil {
				// Backwards: both stores agree on the set; the indexed one
				// returns it in descending key order.
				want := slices.Clone(results[1])
				sort.Strings(want)
				got := slices.Clone(results[0])
				if !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) {
					t.Errorf("indexed, backwards: %v not in descending order", got)
				}
				sort.Strings(got)
				results[0], results[1] = got, want
			}
			if q.Select == types.SelectCount {
				// DynamoDB returns no items for COUNT (minidyn does).
				if len(results[0]) != 0 {
					t.Errorf("indexed COUNT returned items %v", results[0])
				}
				results[1] = nil
			}
			if !slices.Equal(results[0], results[1]) || counts[0] != counts[1] {
				t.Errorf("indexed: %d %v\nminidyn: %d %v", counts[0], results[0], counts[1], results[1])
			}
			if counts[0] == 0 && name != "no such room" {
				t.Errorf("no rows: the comparison proves nothing")
			}
		})
	}
}
