package channels

import (
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/syncspec"
)

// The attributes of a subscription item.
const (
	AttrChannel      = "channel"      // S, partition key: the subscription path, or PATH#SHARD when sharded
	AttrSubscriber   = "subscriber"   // S, sort key: connectionId, or m#MEMBER#connectionId in a presence namespace
	AttrConnectionID = "connectionId" // S, the key of ConnectionIndex
	AttrDomainName   = "domainName"   // S, where the Management API reaches the connection (with stage)
	AttrStage        = "stage"        // S
	AttrFields       = "fields"       // M, the presence fields of the member (presence namespaces only)
	AttrSubscribedAt = "subscribedAt" // N, epoch ms
	AttrExpiresAt    = "expiresAt"    // N, epoch s: DynamoDB's TTL attribute
)

// ConnectionIndex is the GSI of the subscriptions table keyed by
// connectionId (projecting the keys, domainName and stage): how a disconnect, a 410 or a sweep finds every
// subscription of one connection.
const ConnectionIndex = "connectionId-index"

// IAMActions are the DynamoDB actions the channels package calls on the
// subscriptions table (and its ConnectionIndex), for the deployable
// template's policy. The connections table additionally needs
// dynamodb:GetItem (rules over the row, presence fields) and
// dynamodb:DeleteItem (410s and sweeps), and the Management API
// execute-api:ManageConnections (POST and GET @connections).
var IAMActions = []string{
	"dynamodb:PutItem",
	"dynamodb:DeleteItem",
	"dynamodb:Query",
	"dynamodb:Scan",
	"dynamodb:BatchWriteItem",
	"dynamodb:GetItem",
}

// TableDefinition is the CreateTableInput of the subscriptions table of
// spec (spec.Channels.Table; name overrides it when not empty): partition
// key channel (S), sort key subscriber (S), on-demand billing, and the
// GSI ConnectionIndex on connectionId (projecting domainName and stage). TTL is enabled afterwards
// with TimeToLiveInput. It returns nil when spec has no channels: section.
func TableDefinition(spec *syncspec.Spec, name string) *dynamodb.CreateTableInput {
	if spec == nil || spec.Channels == nil {
		return nil
	}
	if name == "" {
		name = spec.Channels.Table
	}
	s := types.ScalarAttributeTypeS
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrChannel), AttributeType: s},
			{AttributeName: aws.String(AttrSubscriber), AttributeType: s},
			{AttributeName: aws.String(AttrConnectionID), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrChannel), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSubscriber), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(ConnectionIndex),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(AttrConnectionID), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{AttrDomainName, AttrStage}},
		}},
	}
}

// TimeToLiveInput enables TTL on expiresAt for the subscriptions table
// (nil without a channels: section). name overrides spec.Channels.Table.
func TimeToLiveInput(spec *syncspec.Spec, name string) *dynamodb.UpdateTimeToLiveInput {
	if spec == nil || spec.Channels == nil {
		return nil
	}
	if name == "" {
		name = spec.Channels.Table
	}
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrExpiresAt),
			Enabled:       aws.Bool(true),
		},
	}
}

// Client is the part of the DynamoDB client the channels package calls.
// *dynamodb.Client implements it.
type Client interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// store is the subscriptions table.
type store struct {
	name     string
	client   Client
	clock    func() time.Time
	ttl      time.Duration
	pageSize int32
}

// key is one subscription's primary key, and what it says.
type key struct {
	channel    string // the partition key
	subscriber string // the sort key
}

// subscription is one stored subscription, as a removal needs it.
type subscription struct {
	path         string // the subscription path (the partition key without #SHARD)
	connectionID string
	member       string // "" outside presence namespaces
	presence     bool
}

func partitionKey(path string, shard, shards int) string {
	if shards <= 1 {
		return path
	}
	return path + "#" + strconv.Itoa(shard)
}

// shardOf spreads keys over shards: dynamo.ShardOf (FNV-1a 32 mod shards),
// the one shard function of lawcket.
func shardOf(k string, shards int) int { return dynamo.ShardOf(k, shards) }

// memberPrefix is the sort-key prefix of a member's connections in a
// presence channel. base64url has no '#', so prefixes never overlap.
func memberPrefix(member string) string {
	return "m#" + base64.RawURLEncoding.EncodeToString([]byte(member)) + "#"
}

// parseKey reads a subscription back from its keys.
func parseKey(channel, subscriber string) (subscription, bool) {
	s := subscription{path: channel}
	if i := strings.IndexByte(channel, '#'); i >= 0 {
		s.path = channel[:i]
	}
	if rest, ok := strings.CutPrefix(subscriber, "m#"); ok {
		enc, id, ok := strings.Cut(rest, "#")
		if !ok {
			return s, false
		}
		m, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil {
			return s, false
		}
		s.member, s.connectionID, s.presence = string(m), id, true
		return s, true
	}
	s.connectionID = subscriber
	return s, subscriber != ""
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func (s *store) put(ctx context.Context, k key, connectionID, domainName, stage string, fields map[string]types.AttributeValue) error {
	now := s.clock()
	item := map[string]types.AttributeValue{
		AttrChannel:      str(k.channel),
		AttrSubscriber:   str(k.subscriber),
		AttrConnectionID: str(connectionID),
		AttrSubscribedAt: &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
		AttrExpiresAt:    &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(s.ttl).Unix(), 10)},
	}
	if domainName != "" {
		item[AttrDomainName] = str(domainName)
	}
	if stage != "" {
		item[AttrStage] = str(stage)
	}
	if len(fields) > 0 {
		item[AttrFields] = &types.AttributeValueMemberM{Value: fields}
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.name, Item: item})
	return translate("PutItem", s.name, err)
}

// exists reads one subscription (strongly consistent).
func (s *store) exists(ctx context.Context, k key) (bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.name,
		Key:            map[string]types.AttributeValue{AttrChannel: str(k.channel), AttrSubscriber: str(k.subscriber)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, translate("GetItem", s.name, err)
	}
	return out.Item != nil && !expired(out.Item, s.clock()), nil
}

// delete removes one subscription and reports whether it existed.
func (s *store) delete(ctx context.Context, k key) (bool, error) {
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    &s.name,
		Key:          map[string]types.AttributeValue{AttrChannel: str(k.channel), AttrSubscriber: str(k.subscriber)},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, translate("DeleteItem", s.name, err)
	}
	return len(out.Attributes) > 0, nil
}

// memberConnections counts (up to limit) the live connections of member in
// one partition, with a strongly consistent Query.
func (s *store) memberConnections(ctx context.Context, channel, member string, limit int32) ([]string, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.name,
		KeyConditionExpression:    aws.String("#c = :c AND begins_with(#s, :p)"),
		ExpressionAttributeNames:  map[string]string{"#c": AttrChannel, "#s": AttrSubscriber},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(channel), ":p": str(memberPrefix(member))},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(limit),
	})
	if err != nil {
		return nil, translate("Query", s.name, err)
	}
	now := s.clock()
	var ids []string
	for _, item := range out.Items {
		if expired(item, now) {
			continue
		}
		if sub, ok := parseKey(stringAttr(item, AttrChannel), stringAttr(item, AttrSubscriber)); ok {
			ids = append(ids, sub.connectionID)
		}
	}
	return ids, nil
}

// items streams the live items of one partition, page by page.
func (s *store) items(ctx context.Context, channel string) iter.Seq2[map[string]types.AttributeValue, error] {
	return func(yield func(map[string]types.AttributeValue, error) bool) {
		in := &dynamodb.QueryInput{
			TableName:                 &s.name,
			KeyConditionExpression:    aws.String("#c = :c"),
			ExpressionAttributeNames:  map[string]string{"#c": AttrChannel},
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(channel)},
		}
		if s.pageSize > 0 {
			in.Limit = aws.Int32(s.pageSize)
		}
		p := dynamodb.NewQueryPaginator(s.client, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				yield(nil, translate("Query", s.name, err))
				return
			}
			now := s.clock()
			for _, item := range out.Items {
				if expired(item, now) {
					continue
				}
				if !yield(item, nil) {
					return
				}
			}
		}
	}
}

// ofConnection streams the keys of a connection's subscriptions from
// ConnectionIndex (eventually consistent: a subscription written a moment
// ago may be missing; its TTL, a 410 or a sweep covers it).
func (s *store) ofConnection(ctx context.Context, connectionID string) iter.Seq2[key, error] {
	return func(yield func(key, error) bool) {
		p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
			TableName:                 &s.name,
			IndexName:                 aws.String(ConnectionIndex),
			KeyConditionExpression:    aws.String("#i = :i"),
			ExpressionAttributeNames:  map[string]string{"#i": AttrConnectionID},
			ExpressionAttributeValues: map[string]types.AttributeValue{":i": str(connectionID)},
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				yield(key{}, translate("Query", s.name+"/"+ConnectionIndex, err))
				return
			}
			for _, item := range out.Items {
				if !yield(key{stringAttr(item, AttrChannel), stringAttr(item, AttrSubscriber)}, nil) {
					return
				}
			}
		}
	}
}

// countOfConnection counts a connection's subscriptions (one Query with
// Select COUNT on ConnectionIndex, eventually consistent).
func (s *store) countOfConnection(ctx context.Context, connectionID string) (int, error) {
	n := 0
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                 &s.name,
		IndexName:                 aws.String(ConnectionIndex),
		KeyConditionExpression:    aws.String("#i = :i"),
		ExpressionAttributeNames:  map[string]string{"#i": AttrConnectionID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":i": str(connectionID)},
		Select:                    types.SelectCount,
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return 0, translate("Query", s.name+"/"+ConnectionIndex, err)
		}
		n += int(out.Count)
	}
	return n, nil
}

// maxBatchAttempts bounds the resends of UnprocessedItems.
const maxBatchAttempts = 6

// deleteKeys deletes keys with BatchWriteItem, 25 per call, resending
// UnprocessedItems with backoff (bounded).
func (s *store) deleteKeys(ctx context.Context, keys []key) error {
	for len(keys) > 0 {
		n := min(25, len(keys))
		reqs := make([]types.WriteRequest, n)
		for i, k := range keys[:n] {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{
				AttrChannel: str(k.channel), AttrSubscriber: str(k.subscriber),
			}}}
		}
		keys = keys[n:]
		pending := map[string][]types.WriteRequest{s.name: reqs}
		for attempt := 1; len(pending[s.name]) > 0; attempt++ {
			if attempt > maxBatchAttempts {
				return fmt.Errorf("channels: BatchWriteItem %s: %d deletes still unprocessed after %d attempts: %w", s.name, len(pending[s.name]), maxBatchAttempts, dynamo.ErrThrottled)
			}
			if attempt > 1 {
				t := time.NewTimer(time.Duration(25<<(attempt-2)) * time.Millisecond)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return translate("BatchWriteItem", s.name, err)
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

func stringAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func expired(item map[string]types.AttributeValue, now time.Time) bool {
	v, ok := item[AttrExpiresAt].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	s, err := strconv.ParseInt(v.Value, 10, 64)
	return err == nil && s <= now.Unix()
}

// translate classifies an SDK error with package dynamo's sentinels
// (dynamo.ErrTableNotFound, dynamo.ErrThrottled, …).
func translate(op, table string, err error) error { return dynamo.Classify(op, table, err) }
