package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
)

// newRoomPoster returns the roomPoster of the chat: a broadcast.Sender over
// the connections table, posting through client, the Management API client
// the App replies through too (LAWCKET_MANAGEMENT_ENDPOINT under `lawcket
// dev`, else each row's https://{domainName}/{stage}). Connections that
// answer 410 have their row deleted by the Sender; the sender of the message
// is not excluded, so it sees its own message come back.
func newRoomPoster(client *mgmt.Client, table *dynamo.Table, log *slog.Logger) (roomPoster, error) {
	bc, err := broadcast.New(client, table, broadcast.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("chat: broadcaster: %w", err)
	}
	return func(ctx context.Context, room string, data []byte) error {
		rep, err := bc.Send(ctx, table.Targets(ctx, dynamo.Selector{Field: "room", Value: room}), data)
		if err != nil {
			return fmt.Errorf("chat: broadcast to room %q: %w", room, err)
		}
		if rep.Failed > 0 {
			// One unreachable member must not fail the sender's message:
			// the others got it. The failures are logged with their ids.
			log.WarnContext(ctx, "chat: broadcast had failures", "room", room,
				"sent", rep.Sent, "gone", rep.Gone, "failed", rep.Failed, "failures", rep.Failures)
		}
		return nil
	}, nil
}
