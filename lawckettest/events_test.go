package lawckettest_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/lawckettest"
)

// lambdaFixture reads one of aws-lambda-go's own events/testdata fixtures
// from the module cache.
func lambdaFixture(t *testing.T, name string) map[string]any {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("go list aws-lambda-go: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "events", "testdata", name))
	if err != nil {
		t.Fatalf("aws-lambda-go fixture: %v", err)
	}
	return decode(t, data)
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

// shape maps every path of a JSON object to its kind (object, array,
// string, number, bool, null), the way API Gateway's events are compared.
func shape(prefix string, v any, out map[string]string) map[string]string {
	if out == nil {
		out = map[string]string{}
	}
	switch x := v.(type) {
	case map[string]any:
		if prefix != "" {
			out[prefix] = "object"
		}
		for k, c := range x {
			shape(strings.TrimPrefix(prefix+"."+k, "."), c, out)
		}
	case []any:
		out[prefix] = "array"
	case string:
		out[prefix] = "string"
	case float64:
		out[prefix] = "number"
	case bool:
		out[prefix] = "bool"
	case nil:
		out[prefix] = "null"
	}
	return out
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func sub(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }

// TestShapesMatchAWSLambdaFixtures compares the built events, as JSON, with
// aws-lambda-go's captured WebSocket events: the same keys at every level,
// each with the same JSON type.
func TestShapesMatchAWSLambdaFixtures(t *testing.T) {
	t.Run("message", func(t *testing.T) {
		want := lambdaFixture(t, "apigw-websocket-request-send-message.json")
		got := decode(t, lawckettest.JSON(lawckettest.Message(`{"a":1}`)))
		if !maps.Equal(shape("", want, nil), shape("", got, nil)) {
			t.Errorf("shape differs:\n got %v\nwant %v", shape("", got, nil), shape("", want, nil))
		}
	})
	t.Run("disconnect", func(t *testing.T) {
		want := lambdaFixture(t, "apigw-websocket-request-disconnect.json")
		got := decode(t, lawckettest.JSON(lawckettest.Disconnect()))
		if !maps.Equal(shape("", want, nil), shape("", got, nil)) {
			t.Errorf("shape differs:\n got %v\nwant %v", shape("", got, nil), shape("", want, nil))
		}
	})
	t.Run("connect", func(t *testing.T) {
		// aws-lambda-go's connect fixture mixes REST API fields into a
		// WebSocket event; its multiValueHeaders and the WebSocket fields of
		// its requestContext are the real ones.
		want := lambdaFixture(t, "apigw-websocket-request.json")
		got := decode(t, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("name", "me"), lawckettest.Authorizer("admin", map[string]any{"clientName": "Exata"}))))
		for _, h := range keys(sub(want, "multiValueHeaders")) {
			if _, ok := sub(got, "multiValueHeaders")[h]; !ok {
				t.Errorf("multiValueHeaders lacks %s", h)
			}
			if _, ok := sub(got, "headers")[h]; !ok {
				t.Errorf("headers lacks %s", h)
			}
		}
		wantShape, gotShape := shape("", sub(want, "requestContext"), nil), shape("", sub(got, "requestContext"), nil)
		for _, k := range []string{"routeKey", "eventType", "extendedRequestId", "requestTime", "messageDirection", "stage", "connectedAt", "requestTimeEpoch", "identity", "identity.sourceIp", "identity.userAgent", "requestId", "domainName", "connectionId", "apiId", "authorizer", "authorizer.principalId"} {
			if gotShape[k] != wantShape[k] {
				t.Errorf("requestContext.%s: got %q, want %q", k, gotShape[k], wantShape[k])
			}
		}
		for _, k := range []string{"queryStringParameters.name", "multiValueQueryStringParameters.name", "isBase64Encoded"} {
			if s := shape("", got, nil); s[k] != shape("", want, nil)[k] {
				t.Errorf("%s: got %q, want %q", k, s[k], shape("", want, nil)[k])
			}
		}
		if _, ok := got["body"]; ok {
			t.Errorf("a $connect has no body: %v", got["body"])
		}
	})
}

// TestConnectMatchesCapturedFixture compares Connect with the $connect the
// project captured (testdata/events/connect.json): same shape.
func TestConnectMatchesCapturedFixture(t *testing.T) {
	data, err := os.ReadFile("../testdata/events/connect.json")
	if err != nil {
		t.Fatal(err)
	}
	want := shape("", decode(t, data), nil)
	got := shape("", decode(t, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby"), lawckettest.Query("user", "ada")))), nil)
	if !maps.Equal(want, got) {
		t.Errorf("shape differs:\n got %v\nwant %v", got, want)
	}
}

func TestConnectOptions(t *testing.T) {
	t.Run("no query: maps absent", func(t *testing.T) {
		req := lawckettest.Connect()
		if req.QueryStringParameters != nil || req.MultiValueQueryStringParameters != nil {
			t.Errorf("query maps present: %v %v", req.QueryStringParameters, req.MultiValueQueryStringParameters)
		}
		if raw := string(lawckettest.JSON(req)); strings.Contains(raw, "queryString") {
			t.Errorf("JSON has query keys: %s", raw)
		}
	})
	t.Run("empty query: maps present", func(t *testing.T) {
		raw := string(lawckettest.JSON(lawckettest.Connect(lawckettest.EmptyQuery())))
		if !strings.Contains(raw, `"queryStringParameters":{}`) || !strings.Contains(raw, `"multiValueQueryStringParameters":{}`) {
			t.Errorf("JSON: %s", raw)
		}
	})
	t.Run("multi-value query", func(t *testing.T) {
		req := lawckettest.Connect(lawckettest.Query("tag", "a", "b"))
		if req.QueryStringParameters["tag"] != "b" || !slices.Equal(req.MultiValueQueryStringParameters["tag"], []string{"a", "b"}) {
			t.Errorf("got %v %v", req.QueryStringParameters, req.MultiValueQueryStringParameters)
		}
	})
	t.Run("header casing kept, replaced case-insensitively, removed", func(t *testing.T) {
		req := lawckettest.Connect(lawckettest.Header("x-tenant", "a", "b"), lawckettest.Header("user-agent", "curl/8"), lawckettest.Header("Sec-WebSocket-Extensions"))
		if req.Headers["x-tenant"] != "b" || !slices.Equal(req.MultiValueHeaders["x-tenant"], []string{"a", "b"}) {
			t.Errorf("x-tenant: %v %v", req.Headers, req.MultiValueHeaders)
		}
		if _, ok := req.Headers["User-Agent"]; ok || req.Headers["user-agent"] != "curl/8" {
			t.Errorf("user-agent: %v", req.Headers)
		}
		if _, ok := req.MultiValueHeaders["Sec-WebSocket-Extensions"]; ok {
			t.Errorf("Sec-WebSocket-Extensions not removed: %v", req.MultiValueHeaders)
		}
	})
	t.Run("subprotocols", func(t *testing.T) {
		req := lawckettest.Connect(lawckettest.Subprotocols("chat.v2", "chat.v1"))
		if got := req.Headers["Sec-WebSocket-Protocol"]; got != "chat.v2, chat.v1" {
			t.Errorf("Sec-WebSocket-Protocol = %q", got)
		}
	})
	t.Run("authorizer values as decoded from JSON", func(t *testing.T) {
		req := lawckettest.Connect(lawckettest.Authorizer("user-42", map[string]any{"userId": "42", "n": 7}))
		a := req.RequestContext.Authorizer.(map[string]any)
		if a["principalId"] != "user-42" || a["userId"] != "42" || a["n"] != float64(7) || a["integrationLatency"] != float64(112) {
			t.Errorf("authorizer = %#v", a)
		}
		var back events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(lawckettest.JSON(req), &back); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(back.RequestContext.Authorizer.(map[string]any), a) {
			t.Errorf("decoded authorizer %v, built %v", back.RequestContext.Authorizer, a)
		}
	})
	t.Run("ids, domain, identity", func(t *testing.T) {
		req := lawckettest.Connect(lawckettest.ConnectionID("c-1"), lawckettest.RequestID("r-1"), lawckettest.APIID("xyz"), lawckettest.Stage("dev"), lawckettest.SourceIP("198.51.100.1"), lawckettest.UserAgent("ua"))
		rc := req.RequestContext
		if rc.ConnectionID != "c-1" || rc.RequestID != "r-1" || rc.ExtendedRequestID != "r-1" || rc.APIID != "xyz" || rc.Stage != "dev" ||
			rc.DomainName != "xyz.execute-api.eu-west-1.amazonaws.com" || req.Headers["Host"] != rc.DomainName ||
			rc.Identity.SourceIP != "198.51.100.1" || req.Headers["X-Forwarded-For"] != "198.51.100.1" || req.Headers["User-Agent"] != "ua" {
			t.Errorf("got %+v %v", rc, req.Headers)
		}
		if rc.RequestTime != "11/Nov/2024:11:35:24 +0000" || rc.RequestTimeEpoch != rc.ConnectedAt+8 {
			t.Errorf("times %q %d %d", rc.RequestTime, rc.ConnectedAt, rc.RequestTimeEpoch)
		}
	})
}

func TestMessageAndDisconnect(t *testing.T) {
	m := lawckettest.Message("hi", lawckettest.Route("send"), lawckettest.Base64())
	if m.RequestContext.RouteKey != "send" || m.Body != "aGk=" || !m.IsBase64Encoded || m.Headers != nil || m.RequestContext.MessageID != "BQ1knPc2ntjMCFIA=" {
		t.Errorf("message = %+v", m)
	}
	d := lawckettest.Disconnect(lawckettest.DisconnectCode(1006, "Connection lost"))
	if d.RequestContext.DisconnectStatusCode != 1006 || *d.RequestContext.DisconnectReason != "Connection lost" || d.RequestContext.EventType != "DISCONNECT" {
		t.Errorf("disconnect = %+v", d.RequestContext)
	}
	if raw := string(lawckettest.JSON(lawckettest.Disconnect())); !strings.Contains(raw, `"disconnectStatusCode":1001`) || !strings.Contains(raw, `"disconnectReason":""`) {
		t.Errorf("default disconnect JSON: %s", raw)
	}
}

func TestInvokeDecodesLikeLambda(t *testing.T) {
	var got events.APIGatewayWebsocketProxyRequest
	h := func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		got = req
		return events.APIGatewayProxyResponse{StatusCode: 204}, nil
	}
	want := lawckettest.Connect(lawckettest.Query("room", "lobby"), lawckettest.Authorizer("p", map[string]any{"admin": true}))
	resp, err := lawckettest.Invoke(context.Background(), h, lawckettest.JSON(want))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("Invoke = %+v, %v", resp, err)
	}
	if string(lawckettest.JSON(got)) != string(lawckettest.JSON(want)) {
		t.Errorf("decoded event differs:\n got %s\nwant %s", lawckettest.JSON(got), lawckettest.JSON(want))
	}
	if _, err := lawckettest.Invoke(context.Background(), h, []byte(`{"requestContext":{"connectionId":1}}`)); err == nil {
		t.Error("Invoke of a payload aws-lambda-go cannot decode: no error")
	}
}

func TestReadEvent(t *testing.T) {
	req := lawckettest.ReadEvent(t, "../testdata/events/connect.json")
	if req.RequestContext.EventType != "CONNECT" {
		t.Errorf("eventType = %q", req.RequestContext.EventType)
	}
}
