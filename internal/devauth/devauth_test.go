package devauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/internal/runtimeapi"
)

// answer is an Invoker that records the event and answers fixed bytes.
type answer struct {
	out   string
	err   error
	calls atomic.Int32
	last  []byte
}

func (a *answer) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	a.calls.Add(1)
	a.last = payload
	return []byte(a.out), a.err
}

func connectEvent() *events.APIGatewayWebsocketProxyRequest {
	return &events.APIGatewayWebsocketProxyRequest{
		Headers:                         map[string]string{"Host": "127.0.0.1:8080", "auth": "t0k"},
		MultiValueHeaders:               map[string][]string{"Host": {"127.0.0.1:8080"}, "auth": {"t0k"}},
		QueryStringParameters:           map[string]string{"token": "abc"},
		MultiValueQueryStringParameters: map[string][]string{"token": {"abc"}},
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: "$connect", EventType: "CONNECT", Stage: "dev", APIID: "api1", ConnectionID: "c1=",
		},
	}
}

const arn = "arn:aws:execute-api:us-east-1:000000000000:api1/dev/$connect"

func policy(effect, resource string, ctx string) string {
	s := `{"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"` + effect + `","Resource":"` + resource + `"}]}`
	if ctx != "" {
		s += `,"context":` + ctx
	}
	return s + "}"
}

func TestDecisions(t *testing.T) {
	tests := []struct {
		name   string
		out    string
		err    error
		status int
		ctx    map[string]any // without integrationLatency
	}{
		{"allow", policy("Allow", arn, `{"user":"ann","n":123,"f":1.5,"ok":true,"none":null}`), nil, 200,
			map[string]any{"principalId": "u1", "user": "ann", "n": "123", "f": "1.5", "ok": "true", "none": nil}},
		{"allow wildcard", policy("Allow", "arn:aws:execute-api:*:*:api1/*", ""), nil, 200, map[string]any{"principalId": "u1"}},
		{"allow list form", `{"principalId":"u1","policyDocument":{"Statement":[{"Action":["execute-api:*"],"Effect":"Allow","Resource":["` + arn + `"]}]}}`, nil, 200, map[string]any{"principalId": "u1"}},
		{"deny", policy("Deny", arn, ""), nil, 403, nil},
		{"deny wins", `{"principalId":"u1","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"},{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"` + arn + `"}]}}`, nil, 403, nil},
		{"allow other resource", policy("Allow", "arn:aws:execute-api:us-east-1:000000000000:other/dev/$connect", ""), nil, 403, nil},
		{"not json", `"Allow"`, nil, 403, nil},
		{"no policy", `{"principalId":"u1"}`, nil, 403, nil},
		{"no principal", `{"policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]}}`, nil, 403, nil},
		{"bad action type", `{"principalId":"u1","policyDocument":{"Statement":[{"Action":5,"Effect":"Allow","Resource":"*"}]}}`, nil, 403, nil},
		{"object in context", policy("Allow", arn, `{"o":{"a":1}}`), nil, 500, nil},
		{"array in context", policy("Allow", arn, `{"a":[1]}`), nil, 500, nil},
		{"context over 8 KB", policy("Allow", arn, `{"big":"`+strings.Repeat("x", 8200)+`"}`), nil, 500, nil},
		{"authorizer error", "", errors.New("boom"), 500, nil},
		{"authorizer says Unauthorized", "", fmt.Errorf("%w: %w", runtimeapi.ErrFunction, &runtimeapi.FunctionError{Type: "errorString", Message: "Unauthorized"}), 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &answer{out: tt.out, err: tt.err}
			a, err := New(Config{Invoker: inv, IdentitySource: []string{"route.request.header.Auth", "route.request.querystring.token"}})
			if err != nil {
				t.Fatal(err)
			}
			d := a.Authorize(context.Background(), connectEvent())
			if d.Status != tt.status || d.Allowed != (tt.status == 200) {
				t.Fatalf("decision = %+v, want status %d", d, tt.status)
			}
			if !d.Allowed {
				if d.Message == "" || d.Reason == "" || d.Context != nil {
					t.Errorf("refusal = %+v: want a message, a reason and no context", d)
				}
				return
			}
			lat, ok := d.Context["integrationLatency"].(int64)
			if !ok || lat < 0 {
				t.Errorf("integrationLatency = %#v, want a number", d.Context["integrationLatency"])
			}
			got := maps.Clone(d.Context)
			delete(got, "integrationLatency")
			if !maps.Equal(got, tt.ctx) {
				t.Errorf("context = %#v, want %#v", got, tt.ctx)
			}
		})
	}
}

func TestIdentitySourceMissing(t *testing.T) {
	for _, src := range []string{"route.request.header.X-Token", "route.request.querystring.nope", "stageVariables.v"} {
		inv := &answer{out: policy("Allow", arn, "")}
		a, err := New(Config{Invoker: inv, IdentitySource: []string{src}})
		if err != nil {
			t.Fatal(err)
		}
		d := a.Authorize(context.Background(), connectEvent())
		if d.Status != 401 || d.Message != "Unauthorized" || inv.calls.Load() != 0 {
			t.Errorf("%s: decision %+v after %d calls; want 401 without invoking", src, d, inv.calls.Load())
		}
	}
	if _, err := New(Config{Invoker: &answer{}, IdentitySource: []string{"method.request.header.A"}}); err == nil {
		t.Error("New accepted a REST identity source")
	}
}

func TestRequestShape(t *testing.T) {
	inv := &answer{out: policy("Allow", arn, "")}
	a, _ := New(Config{Invoker: inv, StageVariables: map[string]string{"v": "1"}})
	ev := connectEvent()
	ev.RequestContext.Authorizer = map[string]any{"stale": true}
	a.Authorize(context.Background(), ev)
	var got map[string]any
	if err := json.Unmarshal(inv.last, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "methodArn", "headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters", "stageVariables", "requestContext"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %s in %s", k, inv.last)
		}
	}
	for _, k := range []string{"path", "resource", "httpMethod", "pathParameters"} {
		if _, ok := got[k]; ok {
			t.Errorf("REST field %s in the WebSocket authorizer event", k)
		}
	}
	if got["type"] != "REQUEST" || got["methodArn"] != arn {
		t.Errorf("type %v methodArn %v", got["type"], got["methodArn"])
	}
	rc := got["requestContext"].(map[string]any)
	if rc["connectionId"] != "c1=" || rc["routeKey"] != "$connect" || rc["authorizer"] != nil {
		t.Errorf("requestContext = %v", rc)
	}
	h := got["headers"].(map[string]any)
	if h["Connection"] != "upgrade" || h["Upgrade"] != "websocket" || h["auth"] != "t0k" {
		t.Errorf("headers = %v", h)
	}
}

func TestGlob(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "anything/at/all", true},
		{"arn:*:api1/*", "arn:aws:execute-api:r:a:api1/dev/$connect", true},
		{"arn:*:api2/*", "arn:aws:execute-api:r:a:api1/dev/$connect", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 100), false},
	} {
		if got := glob(tt.p, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v", tt.p, tt.s, got)
		}
	}
}

// TestRequestMatchesAWSExample compares the authorizer event with the
// WebSocket REQUEST authorizer input of the API Gateway developer guide
// ("Control access to WebSocket APIs with AWS Lambda REQUEST authorizers"):
// every key of its example, as far as the page shows it, with the same JSON
// type.
func TestRequestMatchesAWSExample(t *testing.T) {
	aws := map[string]string{ // key path → JSON type in the guide's example
		"type": "string", "methodArn": "string", "headers": "object", "multiValueHeaders": "object",
		"queryStringParameters": "object", "multiValueQueryStringParameters": "object", "stageVariables": "object",
		"requestContext": "object", "requestContext.routeKey": "string", "requestContext.eventType": "string",
		"requestContext.extendedRequestId": "string", "requestContext.requestTime": "string",
		"requestContext.messageDirection": "string", "requestContext.stage": "string",
		"requestContext.connectedAt": "number", "requestContext.requestTimeEpoch": "number",
		"requestContext.identity": "object", "requestContext.identity.sourceIp": "string",
	}
	inv := &answer{out: policy("Allow", arn, "")}
	a, _ := New(Config{Invoker: inv})
	ev := connectEvent()
	ev.RequestContext.ExtendedRequestID, ev.RequestContext.RequestID = "r1", "r1"
	ev.RequestContext.RequestTime, ev.RequestContext.MessageDirection = "19/Jan/2023:21:13:26 +0000", "IN"
	ev.RequestContext.ConnectedAt, ev.RequestContext.RequestTimeEpoch = 1674162806344, 1674162806345
	ev.RequestContext.Identity.SourceIP = "203.0.113.1"
	a.Authorize(context.Background(), ev)
	var got map[string]any
	if err := json.Unmarshal(inv.last, &got); err != nil {
		t.Fatal(err)
	}
	for path, want := range aws {
		var v any = got
		for _, k := range strings.Split(path, ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if typ := jsonType(v); typ != want {
			t.Errorf("%s: %s, want %s as in AWS's example", path, typ, want)
		}
	}
	if got["requestContext"].(map[string]any)["connectionId"] != "c1=" {
		t.Error("requestContext.connectionId is missing")
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case nil:
		return "missing"
	}
	return "other"
}
