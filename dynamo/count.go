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
// Query of the field's GSI (or a Scan, of a segment when sel has one) with
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
	if sel.Field == "" && sel.Value != "" {
		return 0, false, fmt.Errorf("dynamo: count: selector value %q without a field (the zero Selector selects all rows)", sel.Value)
	}
	if sel.Segments != 0 && (sel.Field != "" || sel.Segments < 0 || sel.Segments > maxSegments || sel.Segment < 0 || sel.Segment >= sel.Segments) {
		return 0, false, fmt.Errorf("dynamo: count: selector segment %d of %d: want 0 <= segment < segments <= %d, on a Scan of every row (no field)", sel.Segment, sel.Segments, maxSegments)
	}
	var q *dynamodb.QueryInput
	if sel.Field != "" {
		if q, err = t.query(sel); err != nil {
			return 0, false, err
		}
		q.Select = types.SelectCount
	}
	var start map[string]types.AttributeValue
	for {
		page := aws.Int32(int32(limit + 1 - n))
		var count int32
		if q != nil {
			in := *q
			in.Limit, in.ExclusiveStartKey = page, start
			out, err := t.client.Query(ctx, &in, ownRetries)
			if err != nil {
				return n, false, translate("Query", t.name+"/"+aws.ToString(in.IndexName), err)
			}
			count, start = out.Count, out.LastEvaluatedKey
		} else {
			in := &dynamodb.ScanInput{TableName: &t.name, Select: types.SelectCount, Limit: page, ExclusiveStartKey: start}
			if sel.Segments > 0 {
				in.Segment, in.TotalSegments = aws.Int32(int32(sel.Segment)), aws.Int32(int32(sel.Segments))
			}
			out, err := t.client.Scan(ctx, in, ownRetries)
			if err != nil {
				return n, false, translate("Scan", t.name, err)
			}
			count, start = out.Count, out.LastEvaluatedKey
		}
		n += int(count)
		switch {
		case n > limit:
			return n, false, nil
		case len(start) == 0:
			return n, true, nil
		}
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
