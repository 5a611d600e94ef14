package localdynamo_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/internal/localdynamo"
)

// BenchmarkGSIQuery: one Query of a room of 10 on the room GSI, in tables
// of 1,000 and 5,000 rows, indexed (the default) and as minidyn answers it
// alone (NoIndex, the previous default). One op is one Query through the
// SDK over HTTP.
//
//	go test -run '^$' -bench GSIQuery ./internal/localdynamo
func BenchmarkGSIQuery(b *testing.B) {
	for _, rows := range []int{1000, 5000} {
		for _, st := range []struct {
			name string
			opts localdynamo.Options
		}{{"indexed", localdynamo.Options{}}, {"scan", localdynamo.Options{NoIndex: true}}} {
			b.Run(fmt.Sprintf("rows=%d/%s", rows, st.name), func(b *testing.B) {
				ctx := context.Background()
				srv, err := localdynamo.Start(st.opts)
				if err != nil {
					b.Fatal(err)
				}
				defer srv.Close()
				db, _ := localdynamo.Client(ctx, srv.URL(), "us-east-1")
				table := aws.String("bench")
				if _, err := localdynamo.EnsureTable(ctx, db, &dynamodb.CreateTableInput{
					TableName: table, BillingMode: types.BillingModePayPerRequest,
					AttributeDefinitions: []types.AttributeDefinition{
						{AttributeName: aws.String("connectionId"), AttributeType: types.ScalarAttributeTypeS},
						{AttributeName: aws.String("room"), AttributeType: types.ScalarAttributeTypeS},
					},
					KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("connectionId"), KeyType: types.KeyTypeHash}},
					GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("room-index"),
						KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("room"), KeyType: types.KeyTypeHash}},
						Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
				}); err != nil {
					b.Fatal(err)
				}
				for i := range rows {
					if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]types.AttributeValue{
						"connectionId": &types.AttributeValueMemberS{Value: fmt.Sprintf("c%05d", i)},
						"room":         &types.AttributeValueMemberS{Value: fmt.Sprintf("r%d", i/10)},
					}}); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for i := range b.N {
					out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: table, IndexName: aws.String("room-index"),
						KeyConditionExpression:    aws.String("#k = :v"),
						ExpressionAttributeNames:  map[string]string{"#k": "room"},
						ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: fmt.Sprintf("r%d", i%(rows/10))}}})
					if err != nil || out.Count != 10 {
						b.Fatalf("query: %v, %d rows", err, out.Count)
					}
				}
			})
		}
	}
}
