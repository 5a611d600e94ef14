package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

const shardedRoomSpec = `table: Connections
fields:
  room:
    expr: query.room
    required: true
    index: true
    shards: 8
`

// TestBroadcastShardedRoom: lawcket broadcast --where room=lobby on a room
// sharded 8 ways (rows written by the sync plugin, so with their
// room#shard key) reaches every connection of the room exactly once, and
// no other, through lawckettest's recording Management API.
func TestBroadcastShardedRoom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lawcket.yaml")
	writeFile(t, path, shardedRoomSpec)
	c := broadcastEnv(t, path, nil)
	spec, err := syncspec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dynamo.NewPlugin(context.Background(), spec, dynamo.WithClient(c))
	if err != nil {
		t.Fatal(err)
	}
	shards := map[int]bool{}
	for room, n := range map[string]int{"lobby": 60, "attic": 5} {
		for i := range n {
			id := fmt.Sprintf("%s-%02d", room, i)
			req := lawckettest.Connect(lawckettest.Query("room", room), lawckettest.ConnectionID(id))
			if err := p.OnConnect(context.Background(), &lawcket.Event{Type: lawcket.Connect, Request: req}); err != nil {
				t.Fatal(err)
			}
			if room == "lobby" {
				shards[dynamo.ShardOf(id, 8)] = true
			}
		}
	}
	if len(shards) != 8 {
		t.Fatalf("the lobby's rows are in %d shards of 8: the test would not cover them all", len(shards))
	}
	api := lawckettest.NewServer()
	t.Cleanup(api.Close)
	code, stdout, stderr := run(t, "", "broadcast", "-c", path, "--where", "room=lobby", "--data", "goal", "--endpoint", api.Endpoint("{stage}"))
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	if rep := decodeReport(t, stdout); rep["sent"] != float64(60) || rep["failed"] != float64(0) {
		t.Errorf("report %s", stdout)
	}
	for i := range 60 {
		if got := api.Delivered(fmt.Sprintf("lobby-%02d", i)); len(got) != 1 || string(got[0]) != "goal" {
			t.Errorf("lobby-%02d received %q, want goal once", i, got)
		}
	}
	if n := len(api.Posts()); n != 60 {
		t.Errorf("%d posts, want 60", n)
	}
}
