package channels_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
)

func TestSweepRemovesGoneConnections(t *testing.T) {
	w := newWorld(t)
	for _, id := range []string{"c-live", "c-dead1", "c-dead2"} {
		w.connect(id, id, nil)
		w.request(id, nil, `{"action":"subscribe","channel":"/rooms/s"}`)
		w.request(id, nil, `{"action":"subscribe","channel":"/hot/s"}`)
	}
	// An orphan: subscriptions whose row is gone (its row deleted, no $disconnect).
	w.connect("c-orphan", "orphan", nil)
	w.request("c-orphan", nil, `{"action":"subscribe","channel":"/hot/o"}`)
	if _, err := w.db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(w.table.Name()), Key: map[string]typesAV{"connectionId": s("c-orphan")}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c-dead1", "c-dead2", "c-orphan"} {
		w.mgmt.setGone(id)
	}
	w.mgmt.take("c-live")

	sw, err := channels.NewSweeper(w.table, channels.NewChecker(w.client), channels.WithSweepChannels(w.ch), channels.WithSweepRate(1000))
	if err != nil {
		t.Fatal(err)
	}
	dry, err := channels.NewSweeper(w.table, channels.NewChecker(w.client), channels.WithSweepChannels(w.ch), channels.WithSweepDryRun(true))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := dry.Sweep(context.Background())
	if err != nil || rep.Gone != 3 || rep.RowsDeleted != 0 || w.subscriptions("c-dead1") != 2 {
		t.Fatalf("dry run = %+v, %v; want 3 gone, nothing removed", rep, err)
	}

	rep, err = sw.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c-dead1", "c-dead2", "c-orphan"}
	if rep.Checked != 4 || rep.Alive != 1 || rep.Gone != 3 || rep.RowsDeleted != 2 || rep.SubscriptionsDeleted != 5 || rep.Orphans != 1 || rep.Failed != 0 || !slices.Equal(rep.Removed, want) {
		t.Fatalf("sweep = %+v; want 4 checked, 1 alive, removed %v (2 rows, 5 subscriptions)", rep, want)
	}
	for _, id := range want {
		if n := w.subscriptions(id); n != 0 {
			t.Fatalf("%s keeps %d subscriptions", id, n)
		}
		if _, err := w.table.Get(context.Background(), id); !errors.Is(err, dynamo.ErrNotFound) {
			t.Fatalf("%s row: %v", id, err)
		}
	}
	if w.subscriptions("c-live") != 2 {
		t.Fatal("the live connection lost subscriptions")
	}
	// The live member saw the gone members leave the presence channel.
	leaves := 0
	for _, f := range w.mgmt.take("c-live") {
		if f["type"] == "leave" {
			leaves++
		}
	}
	if leaves != 2 {
		t.Fatalf("live got %d leave frames; want 2", leaves)
	}
	p, _ := w.ch.Presence(context.Background(), "/rooms/s")
	if p.Count != 1 {
		t.Fatalf("presence after sweep %+v; want the live member only", p)
	}
}

func TestSweepIsRateLimited(t *testing.T) {
	w := newWorld(t)
	for _, id := range []string{"r1", "r2", "r3", "r4", "r5"} {
		w.connect(id, id, nil)
	}
	sw, err := channels.NewSweeper(w.table, channels.NewChecker(w.client), channels.WithSweepRate(20))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := sw.Sweep(context.Background())
	if err != nil || rep.Checked != 5 || rep.Alive != 5 {
		t.Fatalf("sweep = %+v, %v", rep, err)
	}
	// 5 checks at 20/s take at least 4 intervals of 50 ms.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("5 checks at 20/s took %v; want at least 200ms", d)
	}
	if _, err := channels.NewSweeper(w.table, nil); err == nil {
		t.Fatal("NewSweeper without a checker succeeded")
	}
	if _, err := channels.NewSweeper(w.table, channels.NewChecker(w.client), channels.WithSweepRate(0)); err == nil {
		t.Fatal("rate 0 accepted")
	}
}
