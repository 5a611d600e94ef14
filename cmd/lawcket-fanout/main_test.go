package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/runtimeapi"
	"github.com/lawcket/lawcket/internal/testsupport"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

const spec = `table: Connections
fields:
  room:
    expr: query.room
    required: true
    index: true
`

// TestBootstrap builds the worker as a Lambda bootstrap and drives it
// through the Lambda Runtime API emulator with an SQS event of jobs,
// against dynalite and a recording Management API.
func TestBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bootstrap := buildBootstrap(t)
	dir := filepath.Dir(bootstrap)

	endpoint := dynalitetest.Start(t)
	parsed, err := syncspec.Parse("lawcket.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	db := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, db, dynamo.TableDefinition(parsed, ""))
	var ids []string
	for i := range 30 {
		id := fmt.Sprintf("c-%02d", i)
		ids = append(ids, id)
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Connections"), Item: map[string]types.AttributeValue{
			"connectionId": &types.AttributeValueMemberS{Value: id},
			"domainName":   &types.AttributeValueMemberS{Value: "example.com"},
			"stage":        &types.AttributeValueMemberS{Value: "prod"},
			"connectedAt":  &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().UnixMilli(), 10)},
			"room":         &types.AttributeValueMemberS{Value: "r1"},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	api := lawckettest.NewServer()
	t.Cleanup(api.Close)
	api.Gone("c-05")

	var output testsupport.SyncBuffer
	fn, err := runtimeapi.StartFunction(ctx, runtimeapi.FunctionConfig{
		Output:       &output,
		Command:      []string{bootstrap},
		Dir:          dir,
		FunctionName: "lawcket-fanout",
		Timeout:      30 * time.Second,
		Env: []string{
			"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
			"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
			"LAWCKET_MANAGEMENT_ENDPOINT=" + api.Endpoint("{stage}"),
			"LAWCKET_CONFIG=", "LAWCKET_TABLE=", "LAWCKET_METRICS_NAMESPACE=lawcket-test",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()

	jobs, err := fanout.Plan(fanout.Job{Broadcast: "b1", Table: "Connections", Payload: []byte(`{"text":"hi"}`), Rate: 300}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	for i, j := range jobs {
		b, err := j.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("job-", i), Body: string(b), EventSource: "aws:sqs"})
	}
	ev.Records = append(ev.Records, events.SQSMessage{MessageId: "garbage", Body: "{}", EventSource: "aws:sqs"})
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fn.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "garbage" {
		t.Errorf("batchItemFailures = %+v, want only the invalid record", resp.BatchItemFailures)
	}
	for _, id := range ids {
		want := 1
		if id == "c-05" {
			want = 0
		}
		if got := len(api.Delivered(id)); got != want {
			t.Errorf("%s received %d, want %d", id, got, want)
		}
	}
	// The output is relayed from the process's pipe: wait for it.
	emf := func() int { return strings.Count(output.String(), `"Namespace":"lawcket-test"`) }
	for end := time.Now().Add(10 * time.Second); emf() < 3 && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := emf(); n != 3 {
		t.Errorf("%d EMF lines, want one per job (3):\n%s", n, output.String())
	}
	out2, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("Connections"), Key: map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: "c-05"}}})
	if err != nil || out2.Item != nil {
		t.Errorf("gone row c-05: %v, %v", out2, err)
	}
}
