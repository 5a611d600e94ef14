package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableDescriber is the optional part of a Client that Table.ItemCount
// needs. *dynamodb.Client implements it.
type TableDescriber interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// Count counts the rows sel selects, reading at most limit+1 of them: a
// Query of the field's GSI (one per shard of a sharded field, or the one
// shard sel names), or a Scan (of a segment when sel has one), with
// Select COUNT, page after page, each page's Limit the rows still to count,
// stopping as soon as more than limit rows are counted. It returns n, the
// rows counted, and exact: true when n is every selected row (n <= limit),
// false when the count stopped at n = limit+1 ("more than limit").
//
// Cost. Select COUNT returns no items, but DynamoDB charges it as a read
// of the items it counts (read units by their size, like returning them;
// see the Query and Scan pages of the DynamoDB Developer Guide), so a
// Count reads at most limit+1 items' worth: for 300-byte rows and limit
// 10,000, about 3 MB, ~370 read request units, eventually consistent. What
// it saves against Connections is the transfer and the decoding.
//
// Rows whose expiresAt has passed but that DynamoDB has not deleted yet
// are counted (the Count filters nothing), so n is an upper bound of the
// rows Connections yields. limit must be 0 or more (0: "is there any row?").
func (t *Table) Count(ctx context.Context, sel Selector, limit int) (n int, exact bool, err error) {
	if limit < 0 || limit >= math.MaxInt32 {
		return 0, false, fmt.Errorf("dynamo: count: limit %d: want 0 to %d", limit, math.MaxInt32-1)
	}
	if err := sel.check(); err != nil {
		return 0, false, fmt.Errorf("dynamo: count: %w", err)
	}
	if sel.Field == "" {
		in := &dynamodb.ScanInput{TableName: &t.name, Select: types.SelectCount}
		if sel.Segments > 0 {
			in.Segment, in.TotalSegments = aws.Int32(int32(sel.Segment)), aws.Int32(int32(sel.Segments))
		}
		return t.countPages(limit, 0, func(limit *int32, start map[string]types.AttributeValue) (int32, map[string]types.AttributeValue, error) {
			in.Limit, in.ExclusiveStartKey = limit, start
			out, err := t.client.Scan(ctx, in, ownRetries)
			if err != nil {
				return 0, nil, translate("Scan", t.name, err)
			}
			return out.Count, out.LastEvaluatedKey, nil
		})
	}
	// One Query, or one per shard of a sharded field, sharing the limit.
	ins, err := t.queries(sel)
	if err != nil {
		return 0, false, err
	}
	for _, in := range ins {
		in.Select = types.SelectCount
		n, exact, err = t.countPages(limit, n, func(limit *int32, start map[string]types.AttributeValue) (int32, map[string]types.AttributeValue, error) {
			in.Limit, in.ExclusiveStartKey = limit, start
			out, err := t.client.Query(ctx, in, ownRetries)
			if err != nil {
				return 0, nil, translate("Query", t.name+"/"+aws.ToString(in.IndexName), err)
			}
			return out.Count, out.LastEvaluatedKey, nil
		})
		if err != nil || !exact {
			return n, exact, err
		}
	}
	return n, true, nil
}

// countPages adds the counts of one paginated read to n, each page's
// Limit the rows still to count, until more than limit are counted
// (exact false) or the read ends (exact true).
func (t *Table) countPages(limit, n int, page func(limit *int32, start map[string]types.AttributeValue) (int32, map[string]types.AttributeValue, error)) (int, bool, error) {
	var start map[string]types.AttributeValue
	for {
		count, next, err := page(aws.Int32(int32(limit+1-n)), start)
		if err != nil {
			return n, false, err
		}
		n += int(count)
		switch {
		case n > limit:
			return n, false, nil
		case len(next) == 0:
			return n, true, nil
		}
		start = next
	}
}

// ItemCount returns DynamoDB's count of the table's items from
// DescribeTable: free (no item is read), but approximate — DynamoDB
// updates it about every six hours (TableDescription.ItemCount in the
// DynamoDB API Reference), so rows written or deleted since are not in it,
// and a table filled in the last hours may show 0. Use it to size a big
// Scan, never to decide that a table is small (Count does that exactly up
// to its limit). The client must also implement TableDescriber (a
// *dynamodb.Client does).
func (t *Table) ItemCount(ctx context.Context) (int64, error) {
	d, ok := t.client.(TableDescriber)
	if !ok {
		return 0, fmt.Errorf("dynamo: item count: the client (%T) has no DescribeTable method", t.client)
	}
	out, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &t.name}, ownRetries)
	if err != nil {
		return 0, translate("DescribeTable", t.name, err)
	}
	if out.Table == nil || out.Table.ItemCount == nil {
		return 0, errors.New("dynamo: item count: DescribeTable " + t.name + " answered no ItemCount")
	}
	return *out.Table.ItemCount, nil
}
