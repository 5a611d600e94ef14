package eval_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/lawckettest"
)

// event decodes a connect event fixture from testdata/events.
func event(t testing.TB, name string) *events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	req := lawckettest.ReadEvent(t, filepath.Join("..", "testdata", "events", name+".json"))
	return &req
}

// bare is a connect event with nothing but the request context: no query
// string, no headers, no authorizer.
func bare() *events.APIGatewayWebsocketProxyRequest {
	return &events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: "$connect", EventType: "CONNECT", Stage: "dev", ConnectionID: "c1",
			DomainName: "localhost", APIID: "local", RequestID: "r1",
			ConnectedAt: 1700000000123, RequestTimeEpoch: 1700000000124,
		},
	}
}

// multiOnly has only the multi-valued query and headers maps.
func multiOnly() *events.APIGatewayWebsocketProxyRequest {
	req := bare()
	req.MultiValueQueryStringParameters = map[string][]string{"tag": {"a", "b"}}
	req.MultiValueHeaders = map[string][]string{"X-Team": {"Red", "Blue"}}
	return req
}

// singleOnly has only the single-valued query map.
func singleOnly() *events.APIGatewayWebsocketProxyRequest {
	req := bare()
	req.QueryStringParameters = map[string]string{"user": "ada"}
	return req
}

// eval1 compiles one optional field and evaluates it, returning the value
// (nil when the field is omitted).
func eval1(t *testing.T, expression string, req *events.APIGatewayWebsocketProxyRequest, opts eval.Options) any {
	t.Helper()
	p, err := eval.Compile([]eval.Field{{Name: "f", Expr: expression}}, opts)
	if err != nil {
		t.Fatalf("compile %q: %v", expression, err)
	}
	out, err := p.Evaluate(req)
	if err != nil {
		t.Fatalf("evaluate %q: %v", expression, err)
	}
	return out["f"]
}

func TestEnvironment(t *testing.T) {
	opts := eval.Options{Env: map[string]string{"STAGE_NAME": "prod", "EMPTY": ""}, EnvNames: []string{"UNSET"}}
	tests := []struct {
		name, event, expr string
		want              any
	}{
		{"query", "connect", `query.user`, "ada"},
		{"query index", "connect", `query["room"]`, "lobby"},
		{"query missing key", "connect", `query.nope`, nil},
		{"query whole", "connect", `query`, map[string]any{"room": "lobby", "user": "ada"}},
		{"query absent", "connect-no-query", `query`, map[string]any{}},
		{"query absent coalesce", "connect-no-query", `query.user ?? "anonymous"`, "anonymous"},
		{"query bare", "bare", `len(query)`, 0},
		// A missing key is nil in every operation, not only under ??: the
		// comparisons compile to nil-safe operations (see Compile).
		{"query missing equals empty", "connect-no-query", `query.room == ""`, false},
		{"query missing not equals", "connect-no-query", `query.room != "lobby"`, true},
		{"query missing is nil", "connect-no-query", `query.room == nil`, true},
		{"query missing ternary", "connect-no-query", `query.room == "" ? "empty" : "unset"`, "unset"},
		{"query present equals", "connect", `query.room == "lobby"`, true},
		{"headers missing equals", "connect", `headers["x-team"] == "red"`, false},
		{"headers missing in list", "connect", `headers["x-team"] in ["red", "blue"]`, false},
		{"queryAll missing first equals", "bare", `queryAll.tag?.[0] == "a"`, false},
		{"headersAll missing first equals", "bare", `headersAll["x-team"]?.[0] == "red"`, false},
		{"env unset equals empty", "bare", `env.UNSET == ""`, false},
		{"env unset is nil", "bare", `env.UNSET == nil`, true},
		{"query from multi only", "multi", `query.tag`, "b"},
		{"queryAll", "connect", `queryAll.room`, []any{"lobby"}},
		{"queryAll multi", "multi", `join(queryAll.tag, ",")`, "a,b"},
		{"queryAll absent", "bare", `queryAll.tag ?? []`, []any{}},
		{"queryAll from single only", "single", `queryAll.user`, []any{"ada"}},
		{"queryAll whole from single only", "single", `queryAll`, map[string]any{"user": []any{"ada"}}},
		{"query from single only", "single", `query.user`, "ada"},
		{"headers lower-cased", "connect", `headers["x-forwarded-proto"]`, "https"},
		{"headers member", "connect", `headers.host`, "abc123def4.execute-api.eu-west-1.amazonaws.com"},
		{"headers whole", "connect", `headers["sec-websocket-version"] in values(headers)`, true},
		{"headers dynamic key", "connect", `headers["x-forwarded-" + "port"]`, "443"},
		{"headers keys", "connect", `"user-agent" in keys(headers)`, true},
		{"headers missing", "connect", `headers["x-team"]`, nil},
		{"headers absent", "bare", `headers["x-team"] ?? "none"`, "none"},
		{"headers from multi only", "multi", `headers["x-team"]`, "Blue"},
		{"headersAll", "connect", `headersAll["x-forwarded-for"]`, []any{"203.0.113.7"}},
		{"headersAll multi", "multi", `headersAll["x-team"]`, []any{"Red", "Blue"}},
		{"headersAll absent", "bare", `len(headersAll)`, 0},
		{"authorizer principal", "connect-authorizer", `authorizer.principalId`, "user-42"},
		{"authorizer context", "connect-authorizer", `authorizer.tenant`, "acme"},
		{"authorizer stringified bool", "connect-authorizer", `authorizer.admin == "true"`, true},
		{"authorizer stringified number", "connect-authorizer", `float(authorizer.score) * 2`, 15.0},
		{"authorizer number", "connect-authorizer", `authorizer.integrationLatency`, 112.0},
		{"authorizer absent", "connect", `authorizer`, map[string]any{}},
		{"authorizer absent key", "bare", `authorizer.tenant ?? "public"`, "public"},
		{"connectionId", "connect", `requestContext.connectionId`, "BQ1a2ecXDoECJQg="},
		{"stage", "connect", `requestContext.stage`, "prod"},
		{"domainName", "connect", `requestContext.domainName`, "abc123def4.execute-api.eu-west-1.amazonaws.com"},
		{"apiId", "connect", `requestContext.apiId`, "abc123def4"},
		{"routeKey", "connect", `requestContext.routeKey`, "$connect"},
		{"requestId", "connect", `requestContext.requestId`, "BQ1a2Hk3DoEFr7A="},
		{"connectedAt", "connect", `requestContext.connectedAt`, 1731324924553},
		{"connectedAt seconds", "connect", `requestContext.connectedAt / 1000`, 1731324924.553},
		{"requestTimeEpoch", "connect", `requestContext.requestTimeEpoch - requestContext.connectedAt`, 8},
		{"sourceIp", "connect", `requestContext.identity.sourceIp`, "203.0.113.7"},
		{"userAgent", "connect", `requestContext.identity.userAgent`, "Mozilla/5.0 (X11; Linux x86_64) lawcket-test"},
		{"userAgent absent", "bare", `requestContext.identity.userAgent`, ""},
		{"requestContext whole", "bare", `requestContext`, map[string]any{
			"connectionId": "c1", "stage": "dev", "domainName": "localhost", "apiId": "local",
			"routeKey": "$connect", "requestId": "r1", "connectedAt": 1700000000123, "requestTimeEpoch": 1700000000124,
			"identity": map[string]any{"sourceIp": "", "userAgent": ""},
		}},
		{"env", "connect", `env.STAGE_NAME`, "prod"},
		{"env empty", "connect", `env.EMPTY`, ""},
		{"env index", "bare", `env["STAGE_NAME"] + "-x"`, "prod-x"},
		{"builtin lower", "connect", `upper(query.room)`, "LOBBY"},
		{"builtin split", "connect", `split(headers["sec-websocket-extensions"], "; ")[0]`, "permessage-deflate"},
		{"$env", "connect", `$env.query.user`, "ada"},
	}
	reqs := map[string]*events.APIGatewayWebsocketProxyRequest{
		"connect":            event(t, "connect"),
		"connect-no-query":   event(t, "connect-no-query"),
		"connect-authorizer": event(t, "connect-authorizer"),
		"bare":               bare(),
		"multi":              multiOnly(),
		"single":             singleOnly(),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eval1(t, tt.expr, reqs[tt.event], opts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s on %s = %#v, want %#v", tt.expr, tt.event, got, tt.want)
			}
		})
	}
}

func TestAnonymousWithoutQueryString(t *testing.T) {
	req := event(t, "connect-no-query")
	if req.QueryStringParameters != nil {
		t.Fatal("fixture has a query string")
	}
	if got := eval1(t, `query.user ?? "anonymous"`, req, eval.Options{}); got != "anonymous" {
		t.Fatalf("got %#v, want anonymous", got)
	}
}

func TestRequiredRefusal(t *testing.T) {
	p, err := eval.Compile([]eval.Field{
		{Name: "user", Expr: `query.user ?? "anonymous"`},
		{Name: "room", Expr: `query.room`, Required: true},
	}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Evaluate(event(t, "connect-no-query"))
	var r *eval.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want a *eval.Refusal", err)
	}
	if r.Field != "room" || !strings.Contains(r.Error(), "room") {
		t.Fatalf("refusal %q does not name room", r.Error())
	}
	out, err := p.Evaluate(event(t, "connect"))
	if err != nil || out["room"] != "lobby" {
		t.Fatalf("with ?room: %v, %v", out, err)
	}
}

// A query parameter named connectionId is data: it reaches expressions as
// query.connectionId, never the reserved attribute; and a field cannot be
// named connectionId.
func TestQueryCannotTouchReserved(t *testing.T) {
	req := event(t, "connect")
	req.QueryStringParameters = map[string]string{"connectionId": "evil", "stage": "evil"}
	p, err := eval.Compile([]eval.Field{
		{Name: "asked", Expr: `query.connectionId`},
		{Name: "real", Expr: `requestContext.connectionId`},
	}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"asked": "evil", "real": "BQ1a2ecXDoECJQg="}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got %v, want %v", out, want)
	}
	for _, name := range []string{"connectionId", "domainName", "stage", "connectedAt", "expiresAt"} {
		_, err := eval.Compile([]eval.Field{{Name: name, Expr: `query.connectionId`}}, eval.Options{})
		var ce *eval.CompileError
		if !errors.As(err, &ce) || ce.Field != name || !strings.Contains(ce.Message, "reserved") {
			t.Errorf("field %s: got %v, want a reserved-name error", name, err)
		}
	}
}

func TestFieldSemantics(t *testing.T) {
	tests := []struct {
		name    string
		field   eval.Field
		event   *events.APIGatewayWebsocketProxyRequest
		want    any    // nil: omitted
		refusal string // substring of the refusal reason
	}{
		{"literal", eval.Field{Value: "#general"}, bare(), "#general", ""},
		{"literal list", eval.Field{Value: []any{"a", 1}}, bare(), []any{"a", 1}, ""},
		{"optional nil omitted", eval.Field{Expr: `query.x`}, bare(), nil, ""},
		{"optional failure omitted", eval.Field{Expr: `lower(query.x)`}, bare(), nil, ""},
		{"default on nil", eval.Field{Expr: `query.x`, Default: "none", HasDefault: true}, bare(), "none", ""},
		{"default on failure", eval.Field{Expr: `lower(query.x)`, Default: "none", HasDefault: true}, bare(), "none", ""},
		{"default on wrong kind", eval.Field{Expr: `query.x ?? 1`, Type: eval.String, Default: "d", HasDefault: true}, bare(), "d", ""},
		{"required nil", eval.Field{Expr: `query.x`, Required: true}, bare(), nil, "gave nil"},
		{"required failure", eval.Field{Expr: `lower(query.x)`, Required: true}, bare(), nil, "failed"},
		{"wrong kind", eval.Field{Expr: `authorizer.n ?? 1`, Type: eval.String}, bare(), nil, "type is string, but the expression gave a number"},
		{"right kind", eval.Field{Expr: `authorizer.n ?? 1`, Type: eval.Number}, bare(), 1, ""},
		{"empty string kept", eval.Field{Expr: `query.x ?? ""`}, bare(), "", ""},
		{"non-empty drops empty", eval.Field{Expr: `query.x ?? ""`, Index: true}, bare(), nil, ""},
		{"non-empty required", eval.Field{Expr: `query.x ?? ""`, Index: true, Required: true}, bare(), nil, "gave nil"},
		{"unrepresentable", eval.Field{Expr: `now()`}, bare(), nil, ""},
		{"int stays int", eval.Field{Expr: `2 + 3`}, bare(), 5, ""},
		{"float", eval.Field{Expr: `7 / 2`}, bare(), 3.5, ""},
		{"NaN refused", eval.Field{Expr: `(authorizer.z ?? 0.0) / 0.0`}, bare(), nil, "cannot be stored"},
		{"split list", eval.Field{Expr: `split("a,b", ",")`}, bare(), []any{"a", "b"}, ""},
		{"map", eval.Field{Expr: `{tier: "free", n: 1, l: [nil]}`}, bare(), map[string]any{"tier": "free", "n": 1, "l": []any{nil}}, ""},
		{"memory budget", eval.Field{Expr: `len(map(1..(10000000 + len(query.x ?? "")), # * 2))`, Required: true}, bare(), nil, "exceeded a limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.field
			f.Name = "f"
			p, err := eval.Compile([]eval.Field{f}, eval.Options{})
			if tt.name == "unrepresentable" {
				if err == nil || !strings.Contains(err.Error(), "time.Time") {
					t.Fatalf("now(): got %v, want a compile error naming time.Time", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Evaluate(tt.event)
			if tt.refusal != "" {
				var r *eval.Refusal
				if !errors.As(err, &r) || r.Field != "f" || !strings.Contains(r.Reason, tt.refusal) {
					t.Fatalf("got %v, want a refusal of f containing %q", err, tt.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, present := out["f"]
			if tt.want == nil {
				if present {
					t.Fatalf("f = %#v, want it omitted", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("f = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		field eval.Field
		key   string
		col   int
		msg   string
	}{
		{"unknown name", eval.Field{Expr: `usr`}, "expr", 1, "unknown name usr"},
		{"unknown requestContext key", eval.Field{Expr: `requestContext.foo`}, "expr", 16, "unknown field foo"},
		{"env not allowlisted", eval.Field{Expr: `env.HOME`}, "expr", 5, "env.HOME is not allowlisted"},
		{"syntax", eval.Field{Expr: `query.a +`}, "expr", 9, "unexpected token EOF"},
		{"upper-case header", eval.Field{Expr: `headers["X-Team"] ?? ""`}, "expr", 9, `use "x-team"`},
		{"static kind", eval.Field{Expr: `query.a`, Type: eval.Number}, "expr", 0, "type is number, but the expression gives a string"},
		{"time", eval.Field{Expr: `now()`}, "expr", 0, "time.Time"},
		{"literal kind", eval.Field{Value: "x", Type: eval.Bool}, "value", 0, "the value is a string, but type is bool"},
		{"literal null", eval.Field{}, "value", 0, "must not be null"},
		{"literal func", eval.Field{Value: func() {}}, "value", 0, "cannot be stored"},
		{"default kind", eval.Field{Expr: `query.a`, Default: 1, HasDefault: true, Type: eval.String}, "default", 0, "the default is a number"},
		{"too big", eval.Field{Expr: strings.Repeat("1 + ", 2000) + "1"}, "expr", 0, "exceed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.field
			f.Name = "f"
			_, err := eval.Compile([]eval.Field{f}, eval.Options{})
			var ce *eval.CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *CompileError", err)
			}
			if ce.Field != "f" || ce.Key != tt.key || !strings.Contains(ce.Message, tt.msg) || (tt.col != 0 && ce.Column != tt.col) {
				t.Fatalf("got %+v, want key %q column %d message containing %q", ce, tt.key, tt.col, tt.msg)
			}
		})
	}
}

func TestCompileCollectsEveryError(t *testing.T) {
	_, err := eval.Compile([]eval.Field{
		{Name: "a", Expr: `usr`},
		{Name: "stage", Value: "x"},
		{Name: "", Value: "x"},
		{Name: strings.Repeat("n", 256), Value: "x"},
		{Name: "b", Value: 1},
		{Name: "b", Value: 2},
	}, eval.Options{})
	var n int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if _, ok := e.(*eval.CompileError); !ok {
			t.Errorf("%T is not a *CompileError", e)
		}
		n++
	}
	if n != 5 {
		t.Fatalf("got %d errors, want 5:\n%v", n, err)
	}
}

// One Program evaluated from 16 goroutines at once (run with -race): each
// goroutine sees its own event's values.
func TestConcurrentEvaluate(t *testing.T) {
	p, err := eval.Compile([]eval.Field{
		{Name: "user", Expr: `query.user ?? "anonymous"`},
		{Name: "team", Expr: `lower(headers["x-team"])`, Default: "none", HasDefault: true},
		{Name: "id", Expr: `requestContext.connectionId`},
		{Name: "all", Expr: `len(query) + len(headers)`},
	}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				req := bare()
				user := fmt.Sprintf("u%d-%d", g, i)
				req.QueryStringParameters = map[string]string{"user": user}
				req.Headers = map[string]string{"X-Team": "T" + user}
				req.RequestContext.ConnectionID = "c-" + user
				out, err := p.Evaluate(req)
				if err != nil {
					errs <- err
					return
				}
				if out["user"] != user || out["team"] != "t"+user || out["id"] != "c-"+user || out["all"] != 2 {
					errs <- fmt.Errorf("goroutine %d: got %v", g, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewEnv(t *testing.T) {
	env := eval.NewEnv(event(t, "connect-authorizer"), map[string]string{"STAGE_NAME": "prod"})
	for _, name := range eval.Names() {
		if _, ok := env[name]; !ok {
			t.Errorf("NewEnv lacks %s", name)
		}
	}
	if env["headers"].(map[string]any)["host"] == nil || env["env"].(map[string]any)["STAGE_NAME"] != "prod" {
		t.Errorf("unexpected env: %v", env)
	}
}

func TestKind(t *testing.T) {
	for k := eval.String; k <= eval.Map; k++ {
		got, ok := eval.ParseKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, ok)
		}
	}
	if _, ok := eval.ParseKind("any"); ok {
		t.Error(`ParseKind("any") accepted`)
	}
}

// Header names differing only in case: the one that sorts first wins,
// whatever the map order, in both the static-key and the whole-map paths.
func TestHeaderCaseCollision(t *testing.T) {
	req := bare()
	req.Headers = map[string]string{"X-Team": "upper", "x-team": "lower", "X-TEAM": "shout"}
	for _, expression := range []string{`headers["x-team"]`, `headers["x-team"] + string(len(headers))`} {
		for range 20 {
			got := eval1(t, expression, req, eval.Options{})
			if got != "shout" && got != "shout1" {
				t.Fatalf("%s = %v, want the value of X-TEAM (sorts first)", expression, got)
			}
		}
	}
}

func TestIndexKeyKind(t *testing.T) {
	p, err := eval.Compile([]eval.Field{
		{Name: "at", Expr: `requestContext.connectedAt`, Index: true},
		{Name: "room", Expr: `query.room`, Index: true},
		{Name: "any", Expr: `authorizer.x`, Index: true},
		{Name: "lit", Value: 7, Index: true},
	}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]eval.Kind{"at": eval.Number, "room": eval.String, "any": eval.String, "lit": eval.Number} {
		if got := p.Kind(name); got != want {
			t.Errorf("Kind(%s) = %v, want %v", name, got, want)
		}
	}
	req := bare()
	req.RequestContext.Authorizer = map[string]any{"x": 5.0}
	if _, err := p.Evaluate(req); err == nil || !strings.Contains(err.Error(), "field any: type is string, but the expression gave a number") {
		t.Fatalf("got %v, want a refusal of any", err)
	}
}
