package devgw_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/devgw"
	"github.com/lawcket/lawcket/internal/runtimeapi"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// TestFunctions runs an API of two functions, each with its own processes
// and environment, with no $connect route, and a table from Config.Tables.
func TestFunctions(t *testing.T) {
	out := &testsupport.SyncBuffer{}
	cfg := devgw.Config{
		Addr: "127.0.0.1:0",
		Functions: []devgw.Function{
			{Name: "A", Config: runtimeapi.FunctionConfig{Command: []string{echoBin}, FunctionName: "fn-a", Env: []string{"ECHO_LOG_MESSAGES=1"}}},
			{Name: "B", Config: runtimeapi.FunctionConfig{Command: []string{echoBin}, FunctionName: "fn-b"}},
		},
		RouteFunctions: map[string]string{"$default": "A", "env": "B"},
		Routes:         []string{"$default", "env"},
		Tables: []devgw.Table{{
			Definition: &dynamodb.CreateTableInput{
				TableName:            aws.String("t1"),
				BillingMode:          types.BillingModePayPerRequest,
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
			},
			TTLAttribute: "expiresAt",
		}},
		Logger: slog.New(slog.NewTextHandler(out, nil)),
		Output: out,
	}
	g, err := devgw.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("gateway output:\n%s", out.String())
		}
	}()
	if err := g.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if g.Function("B") == nil || g.Function("nope") != nil {
		t.Error("Function: want B and no nope")
	}
	db, err := g.DynamoDBClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t1")}); err != nil {
		t.Errorf("the table of Config.Tables: %v", err)
	}
	if g.TableName() != "t1" {
		t.Errorf("TableName = %q, want t1 (the first of Config.Tables)", g.TableName())
	}

	c := dial(t, g.URL()) // no $connect route: accepted without an invocation
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"action":"env"}`)); err != nil {
		t.Fatal(err)
	}
	env := readJSON(t, c)
	if got := asString(env["AWS_LAMBDA_FUNCTION_NAME"]); got != "fn-b" {
		t.Errorf("env route ran %q, want fn-b (%v)", got, env)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"action":"other"}`)); err != nil {
		t.Fatal(err)
	}
	if ev := readJSON(t, c); asString(ev["requestContext"].(map[string]any)["routeKey"]) != "$default" {
		t.Errorf("other: %v", ev)
	}
	if !strings.Contains(out.String(), "routeKey=$default") || strings.Contains(out.String(), "routeKey=$connect") {
		t.Errorf("A logs $default, and no $connect was invoked:\n%s", out.String())
	}
}

func TestFunctionsConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  devgw.Config
		want string
	}{
		{"nothing to run", devgw.Config{}, "no handler command"},
		{"unnamed", devgw.Config{Functions: []devgw.Function{{Config: runtimeapi.FunctionConfig{Command: []string{echoBin}}}}}, "a unique Name is required"},
		{"unknown route function", devgw.Config{Functions: []devgw.Function{{Name: "A", Config: runtimeapi.FunctionConfig{Command: []string{echoBin}}}}, RouteFunctions: map[string]string{"x": "B"}}, `route x: no function named "B"`},
		{"bad command", devgw.Config{Functions: []devgw.Function{{Name: "A", Config: runtimeapi.FunctionConfig{Command: []string{"/nonexistent/bin"}}}}}, "function A"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := devgw.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want %q", err, tt.want)
			}
		})
	}
}
