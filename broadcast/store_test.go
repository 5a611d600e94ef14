package broadcast_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync"

	"github.com/lawcket/lawcket/mgmt"
)

// memStore is a connection store in memory: the targets and the Remover
// without DynamoDB (the DynamoDB-backed path is tested against dynalite). A
// row whose id starts with "gone-baddel-" fails to delete; failAfter > 0
// makes the targets yield an error after that many rows.
type memStore struct {
	rows      []row
	failAfter int

	mu      sync.Mutex
	deleted []string
	stopped bool // the consumer stopped the iteration early
}

type row struct {
	target mgmt.Target
	room   string
}

var errStore = errors.New("store: page read failed")

// targets yields the rows of room ("" for every row).
func (s *memStore) targets(room string) iter.Seq2[mgmt.Target, error] {
	return func(yield func(mgmt.Target, error) bool) {
		n := 0
		for _, r := range s.rows {
			if room != "" && r.room != room {
				continue
			}
			if s.failAfter > 0 && n == s.failAfter {
				yield(mgmt.Target{}, errStore)
				return
			}
			n++
			if !yield(r.target, nil) {
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
func rowsOf(host, room string, ids ...string) []row {
	rows := make([]row, len(ids))
	for i, id := range ids {
		rows[i] = row{target: mgmt.Target{ConnectionID: id, DomainName: host, Stage: "prod"}, room: room}
	}
	return rows
}
