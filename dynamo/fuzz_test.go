package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/lawckettest"
)

// FuzzBuildItem: whatever a client puts in its query string and headers,
// BuildItem never panics, either refuses with 400 or returns a row within
// DynamoDB's size limit whose reserved attributes are the request
// context's.
func FuzzBuildItem(f *testing.F) {
	spec := parseSpec(f, fullSpec)
	f.Add("lobby", "ada", "Blue", "connectionId")
	f.Add("", "", "", "")
	f.Add("x", "\x00\xff", "ÉÊ", "expiresAt")
	f.Add("1e400", "null", "[1,2]", "__proto__")
	f.Fuzz(func(t *testing.T, room, user, team, key string) {
		req := &events.APIGatewayWebsocketProxyRequest{
			Headers:               map[string]string{"X-Team": team, key: user},
			QueryStringParameters: map[string]string{"room": room, "user": user, key: team},
			RequestContext: events.APIGatewayWebsocketProxyRequestContext{
				ConnectionID: "c1=", DomainName: "d.example", Stage: "prod", ConnectedAt: 1731324924553,
			},
		}
		item, err := dynamo.BuildItem(spec, req, t0)
		if err != nil {
			var rej *lawcket.Rejection
			if !errors.As(err, &rej) || rej.Status != 400 {
				t.Fatalf("BuildItem: %v (not a 400 refusal)", err)
			}
			return
		}
		want := map[string]string{"connectionId": "c1=", "domainName": "d.example", "stage": "prod"}
		for k, v := range want {
			if s, ok := item[k].(*types.AttributeValueMemberS); !ok || s.Value != v {
				t.Fatalf("%s = %#v, want %q", k, item[k], v)
			}
		}
		if n, ok := item["connectedAt"].(*types.AttributeValueMemberN); !ok || n.Value != "1731324924553" {
			t.Fatalf("connectedAt = %#v", item["connectedAt"])
		}
		if n, ok := item["expiresAt"].(*types.AttributeValueMemberN); !ok || n.Value != "1731335724" {
			t.Fatalf("expiresAt = %#v", item["expiresAt"])
		}
		if size := dynamo.ItemSize(item); size > dynamo.MaxItemSize {
			t.Fatalf("item of %d bytes accepted", size)
		}
	})
}

// FuzzHandlerWithStoreFailures drives the wrapper with the dynamo plugin
// over an in-memory table whose PutItem and DeleteItem fail as the input
// says (not sent, or applied with the answer lost), through a sequence of
// connects, messages and disconnects. The invariants are assertions: a
// client accepted has its row; a refused client has none when the cleanup
// was sent; a 400 makes no request; a message makes no request; a
// disconnect whose DeleteItem was sent leaves no row; every answer is 200,
// 400 or 500.
func FuzzHandlerWithStoreFailures(f *testing.F) {
	spec := parseSpec(f, `table: Connections
ttl: 1h
fields:
  user:
    expr: query.user
    required: true
  room:
    expr: query.room ?? "lobby"
    index: true
`)
	f.Add([]byte{0, 1, 2}, "ada")
	f.Add([]byte{3, 12, 21, 30, 39, 48, 57, 66, 75}, "bob")
	f.Add([]byte{6, 15, 24, 2, 11, 20}, "")
	f.Add([]byte{255, 128, 64, 32, 16, 8, 4, 2, 1}, "\xff\x00é")
	f.Fuzz(func(t *testing.T, script []byte, user string) {
		if len(script) > 64 {
			script = script[:64]
		}
		db := newMemClient()
		var calls sync.Map // op → count, for this step
		count := func(op string) int { v, _ := calls.Load(op); n, _ := v.(int); return n }
		var putFault, delFault fault
		db.Faults = func(op string) fault {
			calls.Store(op, count(op)+1)
			if op == "PutItem" {
				return putFault
			}
			return delFault
		}
		p, err := dynamo.NewPlugin(context.Background(), spec, dynamo.WithClient(db))
		if err != nil {
			t.Fatal(err)
		}
		app := lawcket.New(lawcket.WithPlugins(p), lawcket.WithLogger(slogTo(io.Discard)))
		app.On(lawcket.Message, func(context.Context, *lawcket.Event) error { return nil })
		for i, b := range script {
			id := fmt.Sprintf("c-%d", b>>6) // four connection ids
			putFault, delFault = fault(b%3), fault(b/3%3)
			calls.Clear()
			had := slices.Contains(db.ids(), id)
			var opts []lawckettest.Option
			opts = append(opts, lawckettest.ConnectionID(id))
			if user != "" {
				opts = append(opts, lawckettest.Query("user", user))
			}
			var raw []byte
			kind := b / 9 % 3
			switch kind {
			case 0:
				raw = lawckettest.JSON(lawckettest.Connect(opts...))
			case 1:
				raw = lawckettest.JSON(lawckettest.Message(user, opts...))
			case 2:
				raw = lawckettest.JSON(lawckettest.Disconnect(opts...))
			}
			out, _ := app.Invoke(context.Background(), raw) // the response, also when Lambda would get an error
			var resp events.APIGatewayProxyResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("response %q: %v", out, err)
			}
			has := slices.Contains(db.ids(), id)
			step := fmt.Sprintf("step %d (byte %d: kind %d, put %d, delete %d): status %d", i, b, kind, putFault, delFault, resp.StatusCode)
			switch resp.StatusCode {
			case 200, 400, 500:
			default:
				t.Fatalf("%s: unexpected status", step)
			}
			switch kind {
			case 0:
				switch {
				case resp.StatusCode == 200 && !has:
					t.Fatalf("%s: accepted without its row", step)
				case resp.StatusCode == 400 && (count("PutItem") != 0 || has != had):
					t.Fatalf("%s: a refusal made %d PutItem, row %v→%v", step, count("PutItem"), had, has)
				case resp.StatusCode == 500 && count("DeleteItem") == 0:
					t.Fatalf("%s: refused after a failed PutItem without a compensating DeleteItem", step)
				case resp.StatusCode == 500 && delFault != failUnsent && has:
					t.Fatalf("%s: refused, the cleanup reached the table, and the row is left", step)
				}
			case 1:
				if count("PutItem")+count("DeleteItem") != 0 || has != had {
					t.Fatalf("%s: a message touched the table", step)
				}
			case 2:
				if delFault != failUnsent && has {
					t.Fatalf("%s: the disconnect's DeleteItem was applied and the row is left", step)
				}
				if (resp.StatusCode == 200) != (delFault == noFault) {
					t.Fatalf("%s: a disconnect whose DeleteItem failed must be a fault, one that succeeded must not", step)
				}
			}
		}
	})
}
