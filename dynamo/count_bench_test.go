package dynamo_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
)

// BenchmarkCount: what the planner's size estimate costs against reading
// the rows, in one run on the same dynalite table of 10,000 rows (~300 B,
// one room): Connections reading every row (the baseline: what a
// broadcast reads), Count of all of them (limit 10,000: the default local
// max), and Count stopping at 1,001 (limit 1,000). For the Scan of every
// row and the Query of the room. Client CPU by getrusage (dynalite's is
// not counted), requests per operation, bytes and allocations.
func BenchmarkCount(b *testing.B) {
	const rows = 10000
	e := newEnv(b, fullSpec)
	ctx := context.Background()
	now := time.Now()
	var batch []types.WriteRequest
	flush := func() {
		if len(batch) == 0 {
			return
		}
		in := &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"Connections": batch}}
		for len(in.RequestItems) > 0 {
			out, err := e.client.BatchWriteItem(ctx, in)
			if err != nil {
				b.Fatal(err)
			}
			in.RequestItems = out.UnprocessedItems
		}
		batch = nil
	}
	for i := range rows {
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"connectionId": &types.AttributeValueMemberS{Value: fmt.Sprintf("Yx2kzc0FIAM%05d=", i)},
			"domainName":   &types.AttributeValueMemberS{Value: "abc123def4.execute-api.eu-west-1.amazonaws.com"},
			"stage":        &types.AttributeValueMemberS{Value: "prod"},
			"connectedAt":  &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
			"expiresAt":    &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(time.Hour).Unix(), 10)},
			"room":         &types.AttributeValueMemberS{Value: "lobby"},
			"user":         &types.AttributeValueMemberS{Value: "user-" + strconv.Itoa(i)},
			"channel":      &types.AttributeValueMemberS{Value: "#general"},
			"agent":        &types.AttributeValueMemberS{Value: strings.Repeat("a", 80)},
		}}})
		if len(batch) == 25 {
			flush()
		}
	}
	flush()
	tbl, err := dynamo.NewTable(ctx, e.spec, dynamo.WithClient(e.client))
	if err != nil {
		b.Fatal(err)
	}
	for _, sel := range []struct {
		name string
		sel  dynamo.Selector
	}{{"Scan", dynamo.Selector{}}, {"Query", dynamo.Selector{Field: "room", Value: "lobby"}}} {
		// What the selection holds as read back: dynalite keys GSI entries
		// on a 24-bit hash prefix, so a few rows vanish from the Query.
		all, exact, err := tbl.Count(ctx, sel.sel, 2*rows)
		if err != nil || !exact || all < rows-10 {
			b.Fatalf("%s: %d rows, %v, %v", sel.name, all, exact, err)
		}
		run := func(name string, want int, fn func() (int, error)) {
			b.Run(sel.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				e.counter.Reset()
				start, _ := cpu(b)
				b.ResetTimer()
				for range b.N {
					n, err := fn()
					if err != nil || n != want {
						b.Fatalf("%d rows, %v; want %d", n, err, want)
					}
				}
				b.StopTimer()
				end, _ := cpu(b)
				b.ReportMetric(float64((end-start).Microseconds())/float64(b.N), "cpu-µs/op")
				b.ReportMetric(float64(e.counter.Count(""))/float64(b.N), "requests/op")
			})
		}
		run("Connections", all, func() (int, error) {
			n := 0
			for _, err := range tbl.Connections(ctx, sel.sel) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		})
		run("Count-limit-10000", all, func() (int, error) {
			n, _, err := tbl.Count(ctx, sel.sel, rows)
			return n, err
		})
		run("Count-limit-1000", 1001, func() (int, error) {
			n, _, err := tbl.Count(ctx, sel.sel, 1000)
			return n, err
		})
	}
}
