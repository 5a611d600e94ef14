package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/sqstest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// TestBroadcastQueueShardedRoom: `lawcket broadcast --where room=lobby
// --queue URL` on a room sharded 8 ways puts 8 jobs on a real
// SQS-compatible queue (fauxqs), shard 0 to 7 of 8 with rate/8 each; run
// by a worker (its SQS handler, on the messages received from the
// queue), they reach every connection of the room exactly once, through
// lawckettest's recording Management API.
func TestBroadcastQueueShardedRoom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lawcket.yaml")
	writeFile(t, path, shardedRoomSpec)
	db := broadcastEnv(t, path, nil)
	endpoint := sqstest.Start(t)
	sq := sqstest.Client(endpoint)
	t.Setenv("AWS_ENDPOINT_URL_SQS", endpoint)
	ctx := context.Background()
	spec, err := syncspec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(db))
	if err != nil {
		t.Fatal(err)
	}
	for room, n := range map[string]int{"lobby": 60, "attic": 5} {
		for i := range n {
			req := lawckettest.Connect(lawckettest.Query("room", room), lawckettest.ConnectionID(fmt.Sprintf("%s-%02d", room, i)))
			if err := p.OnConnect(ctx, &lawcket.Event{Type: lawcket.Connect, Request: req}); err != nil {
				t.Fatal(err)
			}
		}
	}
	q := sqstest.CreateQueue(t, sq, "hot-jobs", nil)
	var stdout, stderr bytes.Buffer
	code := Main(ctx, []string{"broadcast", "-c", path, "--where", "room=lobby", "--data", "goal", "--rate", "800", "--queue", q.URL, "--name", "goal-7"},
		strings.NewReader(""), &stdout, &stderr)
	var rep struct{ fanout.EnqueueReport }
	if err := json.Unmarshal(stdout.Bytes(), &rep); code != ExitOK || err != nil || rep.Jobs != 8 || rep.Enqueued != 8 {
		t.Fatalf("exit %d, %v, %s\n%s", code, err, stdout.String(), stderr.String())
	}
	msgs := sqstest.ReceiveAll(t, sq, q.URL, 8)
	if len(msgs) != 8 {
		t.Fatalf("the queue holds %d messages, want 8", len(msgs))
	}
	var ev events.SQSEvent
	shards := map[int]bool{}
	for _, m := range msgs {
		job, err := fanout.Decode([]byte(aws.ToString(m.Body)))
		if err != nil {
			t.Fatal(err)
		}
		if job.Field != "room" || job.Value != "lobby" || job.Shards != 8 || job.Rate != 100 || shards[job.Shard] {
			t.Errorf("job %+v", job)
		}
		shards[job.Shard] = true
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), EventSource: "aws:sqs"})
	}
	api := lawckettest.NewServer()
	t.Cleanup(api.Close)
	mc, err := mgmt.New(mgmt.WithEndpoint(api.Endpoint("{stage}")), mgmt.WithAWSConfig(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	w, err := fanout.NewWorker(mc, p.Table(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := w.HandleSQS(ctx, ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("HandleSQS = %+v, %v\n%s", resp, err, logs.String())
	}
	for i := range 60 {
		if got := api.Delivered(fmt.Sprintf("lobby-%02d", i)); len(got) != 1 {
			t.Errorf("lobby-%02d received %d posts, want 1", i, len(got))
		}
	}
	if n := len(api.Posts()); n != 60 {
		t.Errorf("%d posts, want 60 (the lobby, once each)", n)
	}
}
