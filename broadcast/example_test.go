package broadcast_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// roomStore is a connection store in memory: its targets are an iterator
// and its Delete makes it a Remover (in production, a *dynamo.Table:
// table.Targets(ctx, sel) and the table itself).
type roomStore struct {
	mu   sync.Mutex
	rows map[string]mgmt.Target // by connection id
	room map[string]string      // connection id → room
}

func (s *roomStore) targets(room string) iter.Seq2[mgmt.Target, error] {
	return func(yield func(mgmt.Target, error) bool) {
		s.mu.Lock()
		var rows []mgmt.Target
		for id, r := range s.rows {
			if room == "" || s.room[id] == room {
				rows = append(rows, r)
			}
		}
		s.mu.Unlock()
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (s *roomStore) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rows, id)
	return nil
}

// Send posts to a room except the sender, deletes the row of a connection
// that is gone, and reports what happened.
func Example() {
	// A local Management API: connection c3 has gone away.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/@connections/c3") {
			w.Header().Set("x-amzn-ErrorType", "GoneException")
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, `{"message":null}`)
		}
	}))
	defer api.Close()

	store := &roomStore{rows: map[string]mgmt.Target{}, room: map[string]string{}}
	for id, room := range map[string]string{"c1": "lobby", "c2": "lobby", "c3": "lobby", "c4": "kitchen"} {
		store.rows[id] = mgmt.Target{ConnectionID: id, DomainName: "example.com", Stage: "prod"}
		store.room[id] = room
	}

	client, err := mgmt.New(
		mgmt.WithEndpoint(api.URL+"/{stage}"),
		mgmt.WithAWSConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("id", "secret", "")}),
	)
	if err != nil {
		log.Fatal(err)
	}
	sender, err := broadcast.New(client, store)
	if err != nil {
		log.Fatal(err)
	}

	rep, err := sender.Send(context.Background(), store.targets("lobby"), []byte(`{"text":"hello"}`), broadcast.Exclude("c1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sent %d, gone %d, deleted %d, failed %d, attempts %d, retries %d\n",
		rep.Sent, rep.Gone, rep.Deleted, rep.Failed, rep.Attempts, rep.Retries)
	fmt.Println("rows left:", slices.Sorted(func(yield func(string) bool) {
		for id := range store.rows {
			if !yield(id) {
				return
			}
		}
	}))
	// Output:
	// sent 1, gone 1, deleted 1, failed 0, attempts 2, retries 0
	// rows left: [c1 c2 c4]
}

// A message handler broadcasting to the sender's room. Everything is built
// once, in main; the App and the Sender share one Management API client.
func Example_handler() {
	ctx := context.Background()
	spec, err := syncspec.Load("lawcket.yaml")
	if err != nil {
		log.Fatal(err)
	}
	plugin, err := dynamo.NewPlugin(ctx, spec)
	if err != nil {
		log.Fatal(err)
	}
	client, err := mgmt.New() // the default AWS config, loaded on the first post
	if err != nil {
		log.Fatal(err)
	}
	app := lawcket.New(lawcket.WithPlugins(plugin), lawcket.WithManagement(client))
	table := plugin.Table()
	sender, err := broadcast.New(client, table)
	if err != nil {
		log.Fatal(err)
	}

	app.Route("sendmessage", func(ctx context.Context, ev *lawcket.Event) error {
		var msg struct {
			Room string `json:"room"`
			Text string `json:"text"`
		}
		if err := ev.DecodeJSON(&msg); err != nil {
			return lawcket.Reject(http.StatusBadRequest, err.Error())
		}
		payload, err := json.Marshal(map[string]string{"from": ev.Connection.ID, "text": msg.Text})
		if err != nil {
			return err
		}
		rep, err := sender.Send(ctx, table.Targets(ctx, dynamo.Selector{Field: "room", Value: msg.Room}), payload,
			broadcast.Exclude(ev.Connection.ID),
			broadcast.WithAPIID(ev.Connection.APIID)) // for an endpoint with {apiId}
		if err != nil {
			return err // the invocation's deadline, or the table could not be read
		}
		if rep.Failed > 0 {
			ev.Logger().WarnContext(ctx, "broadcast: some posts failed", "failed", rep.Failed, "failures", rep.Failures)
		}
		return nil
	})
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		app.Start()
	}
}
