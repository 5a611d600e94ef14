package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/stack"
	"github.com/lawcket/lawcket/mgmt"
)

// TestIAMCoversFanout runs lawcket-fanout's worker (fanout.Worker, as
// cmd/lawcket-fanout builds it) on a Query job and a Scan segment job
// against dynalite, with one connection gone, and checks every DynamoDB and
// Management API call against FanoutFunction's rendered policy. The SQS
// side (the app's SendMessage, the event source mapping's receive and
// delete) has no server in this test: its grants are checked as rendered.
func TestIAMCoversFanout(t *testing.T) {
	spec := load(t, specs["chat"])
	setAWSEnv(t)
	ctx := context.Background()
	endpoint := dynalitetest.Start(t)
	dynalitetest.CreateTable(t, dynalitetest.Client(endpoint), dynamo.TableDefinition(spec, ""))
	counter := &dynalitetest.Counter{}
	rec := &recorder{next: counter}
	client := dynalitetest.Client(endpoint, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	mgmtSrv := newMgmt(t)
	mc, err := mgmt.New(mgmt.WithEndpoint(mgmtSrv.URL))
	if err != nil {
		t.Fatal(err)
	}
	plugin, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"live", "gone"} {
		ev := event(t, "connect.json", func(r *events.APIGatewayWebsocketProxyRequest) { r.RequestContext.ConnectionID = id })
		item, err := dynamo.BuildItem(spec, &ev, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := plugin.Table().Put(ctx, item); err != nil {
			t.Fatal(err)
		}
	}
	rec.calls = calls{} // the puts were the test's setup
	w, err := fanout.NewWorker(mc, plugin.Table(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "b1", Table: spec.Table, Payload: []byte(`{"text":"all"}`)}, 2)
	if err != nil {
		t.Fatal(err)
	}
	jobs = append(jobs, fanout.Job{Broadcast: "b2", Table: spec.Table, Field: "room", Value: "lobby", Payload: []byte(`{"text":"room"}`)})
	for _, j := range jobs {
		if _, err := w.Run(ctx, j); err != nil {
			t.Fatalf("job %+v: %v", j, err)
		}
	}
	c := &rec.calls
	for _, m := range mgmtSrv.methods {
		c.add("execute-api:ManageConnections " + m)
	}
	for _, want := range []string{"dynamodb:Scan chat-connections", "dynamodb:Query chat-connections/index/room-index", "dynamodb:DeleteItem chat-connections", "execute-api:ManageConnections POST"} {
		if !slices.Contains(c.actions, want) {
			t.Errorf("the worker issued %v, never %s: the recorder is broken", c.actions, want)
		}
	}
	for _, format := range []string{"sam", "cloudformation"} {
		s, err := stack.New(spec, stack.Options{Fanout: true})
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Render(format)
		if err != nil {
			t.Fatal(err)
		}
		pol := policies(t, out)
		if m := missing(pol[stack.FanoutFunction], c); len(m) > 0 {
			t.Errorf("%s: FanoutFunction lacks %v", format, m)
		}
		for fn, want := range map[string][]string{
			stack.FanoutFunction: {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
			stack.AppFunction:    {"sqs:SendMessage"},
		} {
			for _, a := range want {
				ok := false
				for _, st := range pol[fn] {
					if slices.Contains(st.Action, a) && len(st.Resource) == 1 && st.Resource[0] == "Fn::GetAtt: - "+stack.FanoutQueueID+" - Arn" {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s: %s lacks %s on the fan-out queue: %+v", format, fn, a, pol[fn])
				}
			}
		}
	}
}
