package main

import (
	"context"
	"log"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/syncspec"
)

func main() {
	ctx := context.Background()
	spec, err := syncspec.Load("lawcket.yaml")
	if err != nil {
		log.Fatal(err) // every problem, each at lawcket.yaml:LINE:COL
	}
	sync, err := dynamo.NewPlugin(ctx, spec)
	if err != nil {
		log.Fatal(err)
	}
	ws := lawcket.New(lawcket.WithPlugins(sync))
	ws.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		return nil // the row is already stored, with its fields
	})
	ws.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
		return ev.Reply(ctx, map[string]string{"echo": string(ev.Body)})
	})
	ws.On(lawcket.Close, func(ctx context.Context, ev *lawcket.Event) error {
		return nil // the row is deleted after this returns
	})
	ws.Start()
}
