package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/stack"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
	"go.yaml.in/yaml/v3"
)

// dynamoOps are the DynamoDB operations the recorder can name; any other
// request fails the test (so that a new call cannot go unchecked).
var dynamoOps = []string{
	"GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query", "Scan",
	"BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems",
	"CreateTable", "DescribeTable", "UpdateTimeToLive", "DescribeTimeToLive", "ListTables",
}

// calls are the IAM actions a code path issued, each with what it was on:
// "dynamodb:GetItem chat-connections", "dynamodb:Query
// chat-connections/index/room-index", "execute-api:ManageConnections POST".
type calls struct {
	actions []string
}

// recorder records the DynamoDB calls passing through it with the table
// (and index) each names, then hands them to the Counter.
type recorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls calls
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	op := req.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var in struct {
		TableName    string
		IndexName    string
		RequestItems map[string]json.RawMessage
	}
	_ = json.Unmarshal(body, &in)
	tables := []string{in.TableName}
	if in.TableName == "" {
		tables = tables[:0]
		for t := range in.RequestItems {
			tables = append(tables, t)
		}
	}
	r.mu.Lock()
	for _, t := range tables {
		if in.IndexName != "" {
			t += "/index/" + in.IndexName
		}
		r.calls.add("dynamodb:" + op + " " + t)
	}
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (c *calls) add(a string) {
	if !slices.Contains(c.actions, a) {
		c.actions = append(c.actions, a)
	}
}

// mgmtServer is a Management API that records each call's method: 410 for
// connection "gone", else 200.
type mgmtServer struct {
	*httptest.Server
	mu      sync.Mutex
	methods []string
}

func newMgmt(t *testing.T) *mgmtServer {
	m := &mgmtServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		if !slices.Contains(m.methods, r.Method) {
			m.methods = append(m.methods, r.Method)
		}
		m.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/gone") {
			w.Header().Set("X-Amzn-Errortype", "GoneException")
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, `{"message":"gone"}`)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(m.Close)
	return m
}

func event(t *testing.T, file string, edit func(*events.APIGatewayWebsocketProxyRequest)) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	data, err := os.ReadFile("../../testdata/events/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	edit(&req)
	return req
}

// recordChat runs the chat example's code paths against dynalite through a
// counting client and a recording Management API: two $connect (the sync
// plugin's PutItem), a "send" message that reads its sender's row
// (Table.Get), broadcasts to its room (Query on room-index; the gone
// connection's row deleted) and replies; and a $disconnect (DeleteItem).
// connectOnly runs only what lawcket-sync does: the same plugin, $connect
// and $disconnect, messages acknowledged.
func recordChat(t *testing.T, spec *syncspec.Spec, connectOnly bool) *calls {
	t.Helper()
	setAWSEnv(t)
	ctx := context.Background()
	endpoint := dynalitetest.Start(t)
	dynalitetest.CreateTable(t, dynalitetest.Client(endpoint), dynamo.TableDefinition(spec, ""))
	counter := &dynalitetest.Counter{}
	rec := &recorder{next: counter}
	client := dynalitetest.Client(endpoint, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	mgmtSrv := newMgmt(t)

	plugin, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	mc, err := mgmt.New(mgmt.WithEndpoint(mgmtSrv.URL))
	if err != nil {
		t.Fatal(err)
	}
	app := lawcket.New(lawcket.WithPlugins(plugin), lawcket.WithManagement(mc))
	if connectOnly {
		app.On(lawcket.Message, func(context.Context, *lawcket.Event) error { return nil })
	} else {
		bc, err := broadcast.New(mc, plugin.Table())
		if err != nil {
			t.Fatal(err)
		}
		app.Route("send", func(ctx context.Context, ev *lawcket.Event) error {
			if _, err := plugin.Table().Get(ctx, ev.Connection.ID); err != nil {
				return err
			}
			rep, err := bc.Send(ctx, plugin.Table().Targets(ctx, dynamo.Selector{Field: "room", Value: "lobby"}), []byte(`{"text":"hi"}`))
			if err != nil {
				return err
			}
			if rep.Deleted != 1 {
				return fmt.Errorf("broadcast report %+v: want the gone connection's row deleted", rep)
			}
			return ev.Reply(ctx, map[string]string{"ok": "sent"})
		})
	}
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	h := app.Handler()
	invoke := func(req events.APIGatewayWebsocketProxyRequest) {
		t.Helper()
		res, err := h(ctx, req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s %s: %d %v (%s)", req.RequestContext.EventType, req.RequestContext.RouteKey, res.StatusCode, err, res.Body)
		}
	}
	for _, id := range []string{"live", "gone"} {
		invoke(event(t, "connect.json", func(r *events.APIGatewayWebsocketProxyRequest) { r.RequestContext.ConnectionID = id }))
	}
	invoke(event(t, "message-route.json", func(r *events.APIGatewayWebsocketProxyRequest) {
		r.RequestContext.ConnectionID = "live"
		r.RequestContext.RouteKey = "send"
		r.Body = `{"action":"send","text":"hi"}`
	}))
	invoke(event(t, "disconnect.json", func(r *events.APIGatewayWebsocketProxyRequest) { r.RequestContext.ConnectionID = "live" }))

	c := &rec.calls
	known := 0
	for _, op := range dynamoOps {
		known += counter.Count(op)
	}
	if total := counter.Count(""); total != known {
		t.Fatalf("%d DynamoDB requests of an operation the test does not name", total-known)
	}
	for _, m := range mgmtSrv.methods {
		c.add("execute-api:ManageConnections " + m)
	}
	return c
}

// setAWSEnv gives the SDK a region and static test credentials, and no
// shared config files.
func setAWSEnv(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}
}

// statement is an IAM statement as a rendered template holds it.
type statement struct {
	Action   []string
	Resource []string // each flattened to text (intrinsics included)
}

// policies reads the statements of every function and managed policy of a
// rendered template (YAML or JSON), by logical id.
func policies(t *testing.T, tmpl []byte) map[string][]statement {
	t.Helper()
	var doc struct {
		Resources map[string]struct {
			Type       string    `yaml:"Type"`
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(tmpl, &doc); err != nil {
		t.Fatal(err)
	}
	type rawStatement struct {
		Action   []string    `yaml:"Action"`
		Resource []yaml.Node `yaml:"Resource"`
	}
	type policyDoc struct {
		Statement []rawStatement `yaml:"Statement"`
	}
	out := map[string][]statement{}
	for id, r := range doc.Resources {
		var docs []policyDoc
		switch r.Type {
		case "AWS::IAM::ManagedPolicy":
			var p struct {
				PolicyDocument policyDoc `yaml:"PolicyDocument"`
			}
			if err := r.Properties.Decode(&p); err != nil {
				t.Fatal(err)
			}
			docs = append(docs, p.PolicyDocument)
		case "AWS::Serverless::Function":
			var p struct {
				Policies policyDoc `yaml:"Policies"`
			}
			if err := r.Properties.Decode(&p); err != nil {
				t.Fatal(err)
			}
			docs = append(docs, p.Policies)
		case "AWS::IAM::Role":
			var p struct {
				Policies []struct {
					PolicyDocument policyDoc `yaml:"PolicyDocument"`
				} `yaml:"Policies"`
			}
			if err := r.Properties.Decode(&p); err != nil {
				t.Fatal(err)
			}
			for _, d := range p.Policies {
				docs = append(docs, d.PolicyDocument)
			}
			id = strings.TrimSuffix(id, "Role")
		default:
			continue
		}
		for _, d := range docs {
			for _, st := range d.Statement {
				s := statement{Action: st.Action}
				for _, n := range st.Resource {
					b, err := yaml.Marshal(&n)
					if err != nil {
						t.Fatal(err)
					}
					s.Resource = append(s.Resource, strings.Join(strings.Fields(string(b)), " "))
				}
				out[id] = append(out[id], s)
			}
		}
	}
	return out
}

// tableIDs maps the tables' names to their logical ids in the templates.
var tableIDs = map[string]string{"chat-connections": "ConnectionsTable", "chat-connections-subscriptions": stack.SubscriptionsTableID}

// missing says which of c's calls the statements do not allow on the
// resource it was on: a DynamoDB action on that table itself (its logical
// id, no index) or on that index (ID.Arn}/index/NAME, or index/* in the
// legacy policy), ManageConnections on this API's stage for the method
// (never an account-wide */*/*).
func missing(sts []statement, c *calls) []string {
	var out []string
	for _, a := range c.actions {
		action, on, _ := strings.Cut(a, " ")
		table, index, _ := strings.Cut(on, "/index/")
		id := tableIDs[table]
		ok := false
		for _, st := range sts {
			if !slices.Contains(st.Action, action) {
				continue
			}
			for _, r := range st.Resource {
				switch {
				case strings.HasPrefix(action, "execute-api:"):
					ok = ok || strings.Contains(r, "/"+on+"/@connections/*") && !strings.Contains(r, "*/*/*")
				case index != "":
					ok = ok || strings.Contains(r, id) && (strings.Contains(r, "index/"+index) || strings.Contains(r, "index, "+index) || strings.Contains(r, "index/*"))
				default:
					ok = ok || id != "" && strings.Contains(r, id) && !strings.Contains(r, "index")
				}
			}
		}
		if !ok {
			out = append(out, a)
		}
	}
	return out
}

// TestIAMCoversCalls records the DynamoDB and Management API calls the
// chat's code paths and lawcket-sync's make, and checks each is granted by
// the rendered policies of `lawcket template` (each shape and CloudFormation
// format) and of `lawcket table`. The previous `lawcket table` output
// (testdata/legacy-table.yaml) must fail the same check: it lacked
// dynamodb:GetItem and granted ManageConnections account-wide.
func TestIAMCoversCalls(t *testing.T) {
	spec, err := syncspec.Load("../../examples/chat/lawcket.yaml", syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	chat := recordChat(t, spec, false)
	syncOnly := recordChat(t, spec, true)
	for _, want := range []string{"dynamodb:GetItem chat-connections", "dynamodb:PutItem chat-connections", "dynamodb:DeleteItem chat-connections",
		"dynamodb:Query chat-connections/index/room-index", "execute-api:ManageConnections POST"} {
		if !slices.Contains(chat.actions, want) {
			t.Errorf("the chat path issued %v, never %s: the recorder is broken", chat.actions, want)
		}
	}
	if !slices.Equal(syncOnly.actions, []string{"dynamodb:PutItem chat-connections", "dynamodb:DeleteItem chat-connections"}) {
		t.Errorf("the lawcket-sync path issued %v, want PutItem and DeleteItem", syncOnly.actions)
	}
	// messagesOnly: what the app does when lawcket-sync serves $connect and $disconnect.
	messagesOnly := &calls{}
	for _, a := range chat.actions {
		if a != "dynamodb:PutItem chat-connections" {
			messagesOnly.add(a)
		}
	}

	for _, format := range []string{"sam", "cloudformation"} {
		for _, shape := range stack.Shapes {
			t.Run(format+"/"+string(shape), func(t *testing.T) {
				s, err := stack.New(spec, stack.Options{Shape: shape})
				if err != nil {
					t.Fatal(err)
				}
				out, err := s.Render(format)
				if err != nil {
					t.Fatal(err)
				}
				pol := policies(t, out)
				app := chat
				if shape == stack.Sync {
					app = messagesOnly
					if m := missing(pol[stack.SyncFunction], syncOnly); len(m) > 0 {
						t.Errorf("SyncFunction lacks %v", m)
					}
				}
				if m := missing(pol[stack.AppFunction], app); len(m) > 0 {
					t.Errorf("AppFunction lacks %v", m)
				}
			})
		}
	}
	t.Run("table", func(t *testing.T) {
		s, err := stack.NewTableOnly(spec, "ConnectionsTable", nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Render("cloudformation")
		if err != nil {
			t.Fatal(err)
		}
		if m := missing(policies(t, out)["ConnectionsTablePolicy"], chat); len(m) > 0 {
			t.Errorf("lawcket table's policy lacks %v", m)
		}
	})
	t.Run("another table fails", func(t *testing.T) {
		other := []statement{
			{Action: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}, Resource: []string{"Fn::GetAtt: - OtherTable - Arn"}},
			{Action: []string{"dynamodb:Query"}, Resource: []string{"Fn::Sub: ${ConnectionsTable.Arn}/index/user-index"}},
		}
		if m := missing(other, chat); len(m) != len(chat.actions) {
			t.Errorf("statements on another table and index: missing %v, want all of %v", m, chat.actions)
		}
	})
	t.Run("legacy table fails", func(t *testing.T) {
		old, err := os.ReadFile("testdata/legacy-table.yaml")
		if err != nil {
			t.Fatal(err)
		}
		m := missing(policies(t, old)["ConnectionsTablePolicy"], chat)
		if !slices.Equal(m, []string{"dynamodb:GetItem chat-connections", "execute-api:ManageConnections POST"}) {
			t.Errorf("the previous lawcket table policy: missing %v, want GetItem and the scoped ManageConnections", m)
		}
	})
}
