package stack_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/stack"
	"github.com/lawcket/lawcket/mgmt"
)

// TestIAMCoversSweep runs the sweep as lawcket-sync builds it on a
// scheduled event (channels.NewSweeper with WithSweepChannels) against
// dynalite, with one connection gone and subscribed, and checks every
// DynamoDB and Management API call of the sweep against SyncFunction's
// policy in the stack `lawcket template --shape sync --sweep` renders; the
// rendered rule must target SyncFunction and may invoke it.
func TestIAMCoversSweep(t *testing.T) {
	spec := load(t, specs["chat"])
	setAWSEnv(t)
	ctx := context.Background()
	endpoint := dynalitetest.Start(t)
	db := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, db, dynamo.TableDefinition(spec, ""))
	dynalitetest.CreateTable(t, db, channels.TableDefinition(spec, ""))
	rec := &recorder{next: &dynalitetest.Counter{}}
	client := dynalitetest.Client(endpoint, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	mgmtSrv := newMgmt(t)
	mc, err := mgmt.New(mgmt.WithEndpoint(mgmtSrv.URL))
	if err != nil {
		t.Fatal(err)
	}
	sync, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := channels.New(ctx, spec, sync.Table(), channels.WithPoster(mc), channels.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	// Connect both as the chat does: the sync plugin's row, then a
	// subscription to the lobby.
	app := lawcket.New(lawcket.WithPlugins(sync), ch.Install(), lawcket.WithManagement(mc))
	app.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error { return ch.Subscribe(ctx, ev, "/rooms/lobby") })
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"live", "gone"} {
		res, err := app.Handler()(ctx, event(t, "connect.json", func(r *events.APIGatewayWebsocketProxyRequest) { r.RequestContext.ConnectionID = id }))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("connect %s: %d %v (%s)", id, res.StatusCode, err, res.Body)
		}
	}
	rec.calls = calls{} // the set-up's calls are the sync's and the subscribe's, checked elsewhere
	sweeper, err := channels.NewSweeper(sync.Table(), channels.NewChecker(mc), channels.WithSweepChannels(ch))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sweeper.Sweep(ctx)
	if err != nil || rep.Gone != 1 || rep.RowsDeleted != 1 || rep.SubscriptionsDeleted != 1 {
		t.Fatalf("sweep: %+v, %v", rep, err)
	}
	c := &rec.calls
	for _, m := range mgmtSrv.methods {
		c.add("execute-api:ManageConnections " + m)
	}
	for _, want := range []string{"dynamodb:Scan chat-connections", "execute-api:ManageConnections GET"} {
		if !slices.Contains(c.actions, want) {
			t.Errorf("the sweep issued %v, never %s: the recorder is broken", c.actions, want)
		}
	}
	for _, format := range []string{"sam", "cloudformation"} {
		s, err := stack.New(spec, stack.Options{Shape: stack.Sync, Sweep: "rate(15 minutes)"})
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Render(format)
		if err != nil {
			t.Fatal(err)
		}
		if m := missing(policies(t, out)[stack.SyncFunction], c); len(m) > 0 {
			t.Errorf("%s: SyncFunction lacks %v for the sweep", format, m)
		}
		// Without --sweep the sync function may not scan or GET.
		plain, err := stack.New(spec, stack.Options{Shape: stack.Sync})
		if err != nil {
			t.Fatal(err)
		}
		out, err = plain.Render(format)
		if err != nil {
			t.Fatal(err)
		}
		if m := missing(policies(t, out)[stack.SyncFunction], c); !slices.Contains(m, "dynamodb:Scan chat-connections") || !slices.Contains(m, "execute-api:ManageConnections GET") {
			t.Errorf("%s without --sweep: SyncFunction lacks only %v, want Scan and GET among them", format, m)
		}
	}
}
