package localdynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/localdynamo"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// TestShardedIndex: the embedded DynamoDB of lawcket dev answers the
// Queries of a sharded index field from its own index: the table of
// dynamo.TableDefinition, rows written by the sync plugin, every row of
// the room read once over all shards and once per shard.
func TestShardedIndex(t *testing.T) {
	srv, err := localdynamo.Start(localdynamo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := localdynamo.Client(ctx, srv.URL(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := syncspec.Parse("lawcket.yaml", []byte(`table: Connections
fields:
  room:
    expr: query.room
    required: true
    index: true
    shards: 4
`), syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateTable(ctx, dynamo.TableDefinition(spec, "")); err != nil {
		t.Fatal(err)
	}
	p, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(db), dynamo.WithPageSize(5))
	if err != nil {
		t.Fatal(err)
	}
	for room, n := range map[string]int{"lobby": 50, "attic": 7} {
		for i := range n {
			req := lawckettest.Connect(lawckettest.Query("room", room), lawckettest.ConnectionID(fmt.Sprintf("%s-%02d", room, i)))
			if err := p.OnConnect(ctx, &lawcket.Event{Type: lawcket.Connect, Request: req}); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func(sel dynamo.Selector) map[string]int {
		seen := map[string]int{}
		for row, err := range p.Table().Connections(ctx, sel) {
			if err != nil {
				t.Fatal(err)
			}
			seen[row.ConnectionID]++
		}
		return seen
	}
	all := read(dynamo.Selector{Field: "room", Value: "lobby"})
	union := map[string]int{}
	for k := range 4 {
		for id, n := range read(dynamo.Selector{Field: "room", Value: "lobby", Shard: k, Shards: 4}) {
			if dynamo.ShardOf(id, 4) != k {
				t.Errorf("shard %d read %s", k, id)
			}
			union[id] += n
		}
	}
	for name, seen := range map[string]map[string]int{"all shards": all, "per shard": union} {
		if len(seen) != 50 {
			t.Errorf("%s: %d rows, want 50", name, len(seen))
		}
		for id, n := range seen {
			if n != 1 || id[:5] != "lobby" {
				t.Errorf("%s: %s read %d times", name, id, n)
			}
		}
	}
}
