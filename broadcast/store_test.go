package broadcast_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
)

// memStore is a row source in memory: the Store contract without DynamoDB
// (the DynamoDB-backed path is tested against dynalite). A row whose id
// starts with "gone-baddel-" fails to delete; failAfter > 0 makes
// Connections yield an error after that many rows.
type memStore struct {
	rows      []dynamo.Row
	failAfter int

	mu      sync.Mutex
	deleted []string
	stopped bool // the consumer stopped the iteration early
}

var errStore = errors.New("store: page read failed")

func (s *memStore) Connections(ctx context.Context, sel dynamo.Selector) iter.Seq2[dynamo.Row, error] {
	return func(yield func(dynamo.Row, error) bool) {
		n := 0
		for _, r := range s.rows {
			if sel.Field != "" {
				v, ok := r.Item[sel.Field].(*types.AttributeValueMemberS)
				if !ok || v.Value != sel.Value {
					continue
				}
			}
			if s.failAfter > 0 && n == s.failAfter {
				yield(dynamo.Row{}, errStore)
				return
			}
			n++
			if !yield(r, nil) {
				s.mu.Lock()
				s.stopped = true
				s.mu.Unlock()
				return
			}
		}
	}
}

func (s *memStore) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(id, "gone-baddel-") {
		return errors.New("store: delete refused")
	}
	s.deleted = append(s.deleted, id)
	return nil
}

func (s *memStore) deletedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

// rowsOf builds rows with the given ids in room, on the stage "prod" of host.
func rowsOf(host, room string, ids ...string) []dynamo.Row {
	rows := make([]dynamo.Row, len(ids))
	for i, id := range ids {
		rows[i] = dynamo.Row{
			ConnectionID: id,
			DomainName:   host,
			Stage:        "prod",
			Item:         map[string]types.AttributeValue{"room": &types.AttributeValueMemberS{Value: room}},
		}
	}
	return rows
}
