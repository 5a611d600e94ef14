package dynamo

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/syncspec"
)

// Client is the part of the DynamoDB client lawcket calls. *dynamodb.Client
// implements it.
type Client interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// ItemGetter is the optional part of a Client that Table.Get needs.
// *dynamodb.Client implements it.
type ItemGetter interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Option configures NewPlugin / NewTable. Options never panic; a bad value
// makes the constructor return an error.
type Option func(*options)

type options struct {
	client   Client
	clock    func() time.Time
	pageSize int32
	err      error
}

// WithClient uses c instead of a client built from the default AWS config.
// A nil c is an error.
func WithClient(c Client) Option {
	return func(cfg *options) {
		if c == nil {
			cfg.err = errors.Join(cfg.err, errors.New("dynamo: WithClient: nil client"))
			return
		}
		cfg.client = c
	}
}

// WithClock reads the time from now (default time.Now): the connect time
// behind connectedAt fallbacks and expiresAt, and the time expired rows are
// filtered against. A nil now is an error (as a nil WithClient is).
func WithClock(now func() time.Time) Option {
	return func(cfg *options) {
		if now == nil {
			cfg.err = errors.Join(cfg.err, errors.New("dynamo: WithClock: nil clock"))
			return
		}
		cfg.clock = now
	}
}

// WithPageSize sets the Limit of each Query and Scan page Connections reads
// (default 0: DynamoDB's own 1 MB pages). Negative sizes are an error.
func WithPageSize(n int) Option {
	return func(cfg *options) {
		if n < 0 || n > 1<<31-1 {
			cfg.err = errors.Join(cfg.err, fmt.Errorf("dynamo: WithPageSize: %d is not a page size", n))
			return
		}
		cfg.pageSize = int32(n)
	}
}

// Table is the connections table described by a spec: one row per
// connection, keyed by connectionId, with a GSI per index: true field.
// A Table is safe for concurrent use.
type Table struct {
	name     string
	client   Client
	clock    func() time.Time
	pageSize int32
	indexed  map[string]indexKey
}

// NewTable returns the Table for spec, named spec.Table (syncspec applies
// LAWCKET_TABLE). Without WithClient it builds a DynamoDB client from
// config.LoadDefaultConfig, so AWS_REGION, the credentials chain and
// AWS_ENDPOINT_URL_DYNAMODB apply unchanged. Build it once (in main) and share it.
func NewTable(ctx context.Context, spec *syncspec.Spec, opts ...Option) (*Table, error) {
	if spec == nil {
		return nil, errors.New("dynamo: nil spec")
	}
	if spec.Table == "" {
		return nil, fmt.Errorf("dynamo: spec %s names no table (set table: or LAWCKET_TABLE)", specName(spec))
	}
	cfg := options{clock: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	if cfg.client == nil {
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamo: load AWS config: %w", err)
		}
		cfg.client = dynamodb.NewFromConfig(awsCfg)
	}
	t := &Table{
		name:     spec.Table,
		client:   cfg.client,
		clock:    cfg.clock,
		pageSize: cfg.pageSize,
		indexed:  make(map[string]indexKey),
	}
	for _, k := range indexKeys(spec) {
		t.indexed[k.field] = k
	}
	return t, nil
}

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// Row is one stored connection: its reserved attributes, decoded, and the
// whole item (the spec's fields included; decode them with
// attributevalue.UnmarshalMap).
type Row struct {
	ConnectionID string    // connectionId
	DomainName   string    // domainName: with Stage, where the Management API reaches the connection
	Stage        string    // stage
	ConnectedAt  time.Time // connectedAt (epoch ms), in UTC
	ExpiresAt    time.Time // expiresAt (epoch s), in UTC; zero when the spec has no ttl
	Item         map[string]types.AttributeValue
}

// Selector picks rows: Field/Value select through Field's GSI; the zero Selector selects all.
type Selector struct {
	// Field is an index: true field of the spec, or "" for every row.
	Field string
	// Value is the field's value to match: a string, or a number's text
	// for a type: number field.
	Value string
	// Segment and Segments split a Scan of every row (Field "") into
	// Segments disjoint parts that can be read in parallel, anywhere
	// (DynamoDB's parallel Scan: Segment of TotalSegments); Segment counts
	// from 0. Segments 0 reads the whole table. A Query (Field set) cannot
	// be split this way.
	Segment, Segments int
	// Shard and Shards pick one shard of a sharded field (shards: S in
	// the spec): the Query of Value's key in shard Shard, of Shards
	// planned (normally S; see ShardKey for why another count still reads
	// the right rows). Shards 0 reads all S shards of the field, one Query
	// each. They apply to sharded fields only.
	Shard, Shards int
}

// Put writes one row (as built by BuildItem) with a single PutItem.
func (t *Table) Put(ctx context.Context, item map[string]types.AttributeValue) error {
	_, err := t.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &t.name, Item: item}, ownRetries)
	return translate("PutItem", t.name, err)
}

// Delete removes one connection's row with a single DeleteItem. Deleting a
// row that does not exist is not an error.
func (t *Table) Delete(ctx context.Context, connectionID string) error {
	if connectionID == "" {
		return errors.New("dynamo: delete: empty connection id")
	}
	_, err := t.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &t.name,
		Key:       map[string]types.AttributeValue{AttrConnectionID: &types.AttributeValueMemberS{Value: connectionID}},
	}, ownRetries)
	return translate("DeleteItem", t.name, err)
}

// Get reads one connection's row with a strongly consistent GetItem (a
// message handler reading its sender's row sees the row its $connect
// wrote). A row that is absent or whose expiresAt has passed is
// ErrNotFound. The client must also implement ItemGetter (a
// *dynamodb.Client does).
func (t *Table) Get(ctx context.Context, connectionID string) (Row, error) {
	if connectionID == "" {
		return Row{}, errors.New("dynamo: get: empty connection id")
	}
	g, ok := t.client.(ItemGetter)
	if !ok {
		return Row{}, fmt.Errorf("dynamo: get: the client (%T) has no GetItem method", t.client)
	}
	out, err := g.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &t.name,
		Key:            map[string]types.AttributeValue{AttrConnectionID: &types.AttributeValueMemberS{Value: connectionID}},
		ConsistentRead: aws.Bool(true),
	}, ownRetries)
	if err != nil {
		return Row{}, translate("GetItem", t.name, err)
	}
	if out.Item == nil {
		return Row{}, fmt.Errorf("%w: %s", ErrNotFound, connectionID)
	}
	row := rowOf(out.Item)
	if !row.ExpiresAt.IsZero() && !row.ExpiresAt.After(t.clock()) {
		return Row{}, fmt.Errorf("%w: %s (expired at %s)", ErrNotFound, connectionID, row.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return row, nil
}

// Connections streams the selected rows page by page, skipping rows whose
// expiresAt has passed (DynamoDB deletes expired items lazily, up to days
// later). With a Field, it Queries that field's GSI (IndexName(Field)) for
// Value; the field must be index: true in the spec, else the first pair
// yielded is an error wrapping ErrNotIndexed. A sharded field (shards: S)
// is read shard after shard, one Query of ShardIndexName(Field) each, or
// only the shard the Selector names. The zero Selector Scans the whole
// table. Every page is read (the SDK's paginators), one page in memory at
// a time. An error ends the sequence; stopping early stops reading.
func (t *Table) Connections(ctx context.Context, sel Selector) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		reads, err := t.reads(ctx, sel)
		if err != nil {
			yield(Row{}, err)
			return
		}
		for _, r := range reads {
			for r.more() {
				items, err := r.next()
				if err != nil {
					yield(Row{}, err)
					return
				}
				now := t.clock()
				for _, item := range items {
					row := rowOf(item)
					if !row.ExpiresAt.IsZero() && !row.ExpiresAt.After(now) {
						continue
					}
					if !yield(row, nil) {
						return
					}
				}
			}
		}
	}
}

// read is one paginated Scan or Query: more reports whether a page is
// left, next reads it.
type read struct {
	more func() bool
	next func() ([]map[string]types.AttributeValue, error)
}

// reads checks sel and returns the reads that cover it, in order: one
// Scan (segment), one Query, or one Query per shard of a sharded field.
// check reports a Selector no read can serve (Table.reads and Count);
// the field's own checks (an index field, its value) are queries'.
func (sel Selector) check() error {
	if sel.Field == "" && sel.Value != "" {
		return fmt.Errorf("selector value %q without a field (the zero Selector selects all rows)", sel.Value)
	}
	if sel.Segments != 0 && (sel.Field != "" || sel.Segments < 0 || sel.Segments > maxSegments || sel.Segment < 0 || sel.Segment >= sel.Segments) {
		return fmt.Errorf("selector segment %d of %d: want 0 <= segment < segments <= %d, on a Scan of every row (no field)", sel.Segment, sel.Segments, maxSegments)
	}
	if sel.Shards == 0 && sel.Shard != 0 {
		return fmt.Errorf("selector shard %d without shards", sel.Shard)
	}
	if sel.Field == "" && sel.Shards != 0 {
		return fmt.Errorf("selector shard %d of %d without a field: shards split a sharded index field's Query", sel.Shard, sel.Shards)
	}
	return nil
}

func (t *Table) reads(ctx context.Context, sel Selector) ([]read, error) {
	if err := sel.check(); err != nil {
		return nil, fmt.Errorf("dynamo: %w", err)
	}
	if sel.Field == "" {
		in := &dynamodb.ScanInput{TableName: &t.name, Limit: t.limit()}
		if sel.Segments > 0 {
			in.Segment, in.TotalSegments = aws.Int32(int32(sel.Segment)), aws.Int32(int32(sel.Segments))
		}
		p := dynamodb.NewScanPaginator(t.client, in)
		return []read{{more: p.HasMorePages, next: func() ([]map[string]types.AttributeValue, error) {
			out, err := p.NextPage(ctx, ownRetries)
			if err != nil {
				return nil, translate("Scan", t.name, err)
			}
			return out.Items, nil
		}}}, nil
	}
	ins, err := t.queries(sel)
	if err != nil {
		return nil, err
	}
	reads := make([]read, len(ins))
	for i, in := range ins {
		p := dynamodb.NewQueryPaginator(t.client, in)
		reads[i] = read{more: p.HasMorePages, next: func() ([]map[string]types.AttributeValue, error) {
			out, err := p.NextPage(ctx, ownRetries)
			if err != nil {
				return nil, translate("Query", t.name+"/"+aws.ToString(in.IndexName), err)
			}
			return out.Items, nil
		}}
	}
	return reads, nil
}

// Shards returns the shards of an index field (shards: S in the spec), or
// 0 when it is unsharded or not an index field. A broadcast to one of its
// values is planned as that many jobs (fanout.Plan).
func (t *Table) Shards(field string) int { return t.indexed[field].shards }

// maxSegments is DynamoDB's limit on TotalSegments.
const maxSegments = 1000000

func (t *Table) limit() *int32 {
	if t.pageSize == 0 {
		return nil
	}
	return aws.Int32(t.pageSize)
}

// queries are the Queries of a Selector with a Field: one, or one per
// shard it covers.
func (t *Table) queries(sel Selector) ([]*dynamodb.QueryInput, error) {
	k, ok := t.indexed[sel.Field]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not declared index: true in the spec, so it has no GSI to query", ErrNotIndexed, sel.Field)
	}
	var v types.AttributeValue = &types.AttributeValueMemberS{Value: sel.Value}
	if k.typ == types.ScalarAttributeTypeN {
		if _, err := strconv.ParseFloat(sel.Value, 64); err != nil {
			return nil, fmt.Errorf("dynamo: select %s=%q: %s is a number field, and %q is not a number", sel.Field, sel.Value, sel.Field, sel.Value)
		}
		v = &types.AttributeValueMemberN{Value: sel.Value}
	} else if sel.Value == "" {
		return nil, fmt.Errorf("dynamo: select %s: empty value (rows with an empty %s are not in its index)", sel.Field, sel.Field)
	}
	attr, _ := k.attr()
	query := func(v types.AttributeValue) *dynamodb.QueryInput {
		return &dynamodb.QueryInput{
			TableName:                 &t.name,
			IndexName:                 aws.String(k.gsi()),
			KeyConditionExpression:    aws.String("#k = :v"),
			ExpressionAttributeNames:  map[string]string{"#k": attr},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": v},
			Limit:                     t.limit(),
		}
	}
	switch {
	case k.shards == 0 && sel.Shards != 0:
		return nil, fmt.Errorf("dynamo: select %s=%s shard %d of %d: %s is not sharded (no shards: in the spec)", sel.Field, sel.Value, sel.Shard, sel.Shards, sel.Field)
	case k.shards == 0:
		return []*dynamodb.QueryInput{query(v)}, nil
	case eval.CheckShards(sel.Shards) != nil || sel.Shard < 0 || (sel.Shards > 0 && sel.Shard >= sel.Shards):
		return nil, fmt.Errorf("dynamo: select %s=%s shard %d of %d: want 0 <= shard < shards <= %d", sel.Field, sel.Value, sel.Shard, sel.Shards, eval.MaxShards)
	}
	first, last := 0, k.shards-1
	if sel.Shards > 0 {
		first, last = sel.Shard, sel.Shard
	}
	var ins []*dynamodb.QueryInput
	for shard := first; shard <= last; shard++ {
		key, err := ShardKey(v, shard)
		if err != nil {
			return nil, fmt.Errorf("dynamo: select %s=%q: %w", sel.Field, sel.Value, err)
		}
		ins = append(ins, query(&types.AttributeValueMemberS{Value: key}))
	}
	return ins, nil
}

// rowOf reads the reserved attributes of a stored item.
func rowOf(item map[string]types.AttributeValue) Row {
	r := Row{Item: item}
	if v, ok := item[AttrConnectionID].(*types.AttributeValueMemberS); ok {
		r.ConnectionID = v.Value
	}
	if v, ok := item[AttrDomainName].(*types.AttributeValueMemberS); ok {
		r.DomainName = v.Value
	}
	if v, ok := item[AttrStage].(*types.AttributeValueMemberS); ok {
		r.Stage = v.Value
	}
	if v, ok := item[AttrConnectedAt].(*types.AttributeValueMemberN); ok {
		if ms, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			r.ConnectedAt = time.UnixMilli(ms).UTC()
		}
	}
	if v, ok := item[AttrExpiresAt].(*types.AttributeValueMemberN); ok {
		if s, err := strconv.ParseFloat(v.Value, 64); err == nil {
			r.ExpiresAt = time.Unix(int64(s), 0).UTC()
		}
	}
	return r
}
