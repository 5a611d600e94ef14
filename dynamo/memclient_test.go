package dynamo_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
)

// fault is what memClient does with one write.
type fault int

const (
	noFault     fault = iota
	failUnsent        // the request never reaches the table: an error, nothing applied
	failApplied       // the write is applied and its answer lost: an error anyway
)

// memClient is an in-memory dynamo.Client (and ItemGetter) for examples and
// the fuzz target: one table keyed by connectionId. Query matches one
// attribute's value ("#k = :v"), ignoring the index; pages are not split.
// Faults injects failures per write (nil: none). Safe for concurrent use.
type memClient struct {
	mu     sync.Mutex
	items  map[string]map[string]types.AttributeValue
	Faults func(op string) fault
}

var errInjected = errors.New("memclient: injected failure")

func newMemClient() *memClient {
	return &memClient{items: map[string]map[string]types.AttributeValue{}}
}

var _ dynamo.Client = (*memClient)(nil)

func (m *memClient) fault(op string) fault {
	if m.Faults == nil {
		return noFault
	}
	return m.Faults(op)
}

func idOf(item map[string]types.AttributeValue) string {
	s, _ := item[dynamo.AttrConnectionID].(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

func (m *memClient) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f := m.fault("PutItem")
	if f == failUnsent {
		return nil, errInjected
	}
	m.mu.Lock()
	m.items[idOf(in.Item)] = maps.Clone(in.Item)
	m.mu.Unlock()
	if f == failApplied {
		return nil, errInjected
	}
	return &dynamodb.PutItemOutput{}, ctx.Err()
}

func (m *memClient) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	f := m.fault("DeleteItem")
	if f == failUnsent {
		return nil, errInjected
	}
	m.mu.Lock()
	delete(m.items, idOf(in.Key))
	m.mu.Unlock()
	if f == failApplied {
		return nil, errInjected
	}
	return &dynamodb.DeleteItemOutput{}, nil
}

func (m *memClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	item, ok := m.items[idOf(in.Key)]
	if !ok {
		return &dynamodb.GetItemOutput{}, nil
	}
	return &dynamodb.GetItemOutput{Item: maps.Clone(item)}, nil
}

// sorted returns the items whose keep is true, by connectionId.
func (m *memClient) sorted(keep func(map[string]types.AttributeValue) bool) []map[string]types.AttributeValue {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []map[string]types.AttributeValue
	for _, id := range slices.Sorted(maps.Keys(m.items)) {
		if keep(m.items[id]) {
			out = append(out, maps.Clone(m.items[id]))
		}
	}
	return out
}

func (m *memClient) Query(ctx context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	field := in.ExpressionAttributeNames["#k"]
	want := in.ExpressionAttributeValues[":v"]
	items := m.sorted(func(item map[string]types.AttributeValue) bool {
		switch w := want.(type) {
		case *types.AttributeValueMemberS:
			v, ok := item[field].(*types.AttributeValueMemberS)
			return ok && v.Value == w.Value
		case *types.AttributeValueMemberN:
			v, ok := item[field].(*types.AttributeValueMemberN)
			return ok && v.Value == w.Value
		}
		return false
	})
	return &dynamodb.QueryOutput{Items: items, Count: int32(len(items))}, nil
}

func (m *memClient) Scan(ctx context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	items := m.sorted(func(map[string]types.AttributeValue) bool { return true })
	return &dynamodb.ScanOutput{Items: items, Count: int32(len(items))}, nil
}

// ids returns the stored connection ids, sorted.
func (m *memClient) ids() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.items))
}
