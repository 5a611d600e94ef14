package dynamo

import (
	"context"
	"iter"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/syncspec"
)

// Client is the part of the DynamoDB client lawcket calls.
type Client interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Option configures NewPlugin / NewTable.
type Option func(*config)

type config struct{}

// WithClient uses c instead of a client built from the default AWS config.
func WithClient(c Client) Option { return func(*config) {} }

// Table is the connections table described by a spec. Safe for concurrent use.
type Table struct{}

// NewTable returns the Table for spec.
func NewTable(ctx context.Context, spec *syncspec.Spec, opts ...Option) (*Table, error) {
	return &Table{}, nil
}

// Row is one stored connection.
type Row struct {
	ConnectionID string
	DomainName   string
	Stage        string
	ConnectedAt  time.Time
	ExpiresAt    time.Time // zero when the spec has no ttl
	Item         map[string]types.AttributeValue
}

// Selector picks rows: Field/Value select through Field's GSI; the zero Selector selects all.
type Selector struct {
	Field string
	Value string
}

// Connections streams the selected rows page by page, skipping expired ones.
func (t *Table) Connections(ctx context.Context, sel Selector) iter.Seq2[Row, error] {
	return func(func(Row, error) bool) {}
}

// Delete removes one connection's row.
func (t *Table) Delete(ctx context.Context, connectionID string) error { return nil }

// IndexName is the name of the GSI for an index: true field.
func IndexName(field string) string { return field + "-index" }

// BuildItem is the row a connect event writes at time now.
func BuildItem(spec *syncspec.Spec, req *events.APIGatewayWebsocketProxyRequest, now time.Time) (map[string]types.AttributeValue, error) {
	return nil, nil
}

// TableDefinition is the CreateTableInput for spec's table (GSIs per index field).
func TableDefinition(spec *syncspec.Spec, name string) *dynamodb.CreateTableInput { return nil }

// Plugin stores connections: PutItem on connect, DeleteItem on close.
type Plugin struct{ table *Table }

var _ lawcket.ConnectPlugin = (*Plugin)(nil)

// NewPlugin returns the sync plugin for spec.
func NewPlugin(ctx context.Context, spec *syncspec.Spec, opts ...Option) (*Plugin, error) {
	return &Plugin{}, nil
}

// Name returns "dynamo".
func (p *Plugin) Name() string { return "dynamo" }

// OnConnect stores the connection's row.
func (p *Plugin) OnConnect(ctx context.Context, ev *lawcket.Event) error { return nil }

// OnClose deletes the connection's row.
func (p *Plugin) OnClose(ctx context.Context, ev *lawcket.Event) error { return nil }

// Table returns the plugin's table (for reading back and broadcast).
func (p *Plugin) Table() *Table { return p.table }
