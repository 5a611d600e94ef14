package eval

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// A program where any expression uses $env is not flattened: $env would
// show the flattened names.
func TestFlatteningOffWithEnvVariable(t *testing.T) {
	p, err := Compile([]Field{{Name: "u", Expr: `query.user`}, {Name: "all", Expr: `keys($env)`}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.flats) != 0 {
		t.Fatalf("flattened %v", p.flats)
	}
	out, err := p.Evaluate(&events.APIGatewayWebsocketProxyRequest{QueryStringParameters: map[string]string{"user": "ada"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range out["all"].([]any) {
		if strings.Contains(k.(string), flatSep) {
			t.Fatalf("$env shows %q", k)
		}
	}
}

func TestFlattening(t *testing.T) {
	tests := []struct {
		expr  string
		flats string // the flattened names, "|"-separated, NUL shown as "."
	}{
		{`query.user ?? "anonymous"`, "query.user"},
		{`lower(headers["x-team"]) + (authorizer?.tenant ?? "")`, "headers.x-team|authorizer.tenant"},
		{`requestContext.identity.sourceIp + requestContext.stage`, "requestContext.identity|requestContext.identity.sourceIp|requestContext.stage"},
		{`env.STAGE + query["a b"]`, "env.STAGE|query.a b"},
		{`let q = query; q.user`, ""}, // (expr forbids redeclaring query itself)
		{`$env.query.user`, ""},       // $env sees the whole environment
		{`query[query.k ?? "x"]`, "query.k"},
		{`len(query)`, ""},
	}
	for _, tt := range tests {
		p, err := Compile([]Field{{Name: "f", Expr: tt.expr}}, Options{Env: map[string]string{"STAGE": "dev"}})
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		var names []string
		for _, f := range p.flats {
			names = append(names, strings.ReplaceAll(f.name, flatSep, "."))
		}
		if got := strings.Join(names, "|"); got != tt.flats {
			t.Errorf("%s: flattened %q, want %q", tt.expr, got, tt.flats)
		}
	}
}

// FuzzFlatten compares the flattened program with the strict one: same
// row, same refusal, for any expression and event data.
func FuzzFlatten(f *testing.F) {
	for _, s := range []string{
		`query.user ?? "anonymous"`, `lower(headers["x-team"])`, `requestContext.identity.sourceIp`,
		`requestContext.identity`, `authorizer.tenant ?? authorizer.principalId`, `env.STAGE + query.user`,
		`queryAll.user`, `headersAll["x-team"]`, `query?.user`, `{a: query.user, b: headers["x-team"]}`,
		`requestContext.connectedAt / 1000`, `len(query) + len(headers)`, `query[query.user ?? ""]`,
		`let q = query; q.user`, `map(queryAll.user ?? [], upper(#))`, `requestContext.identity?.userAgent`,
	} {
		f.Add(s, "ada", "Red")
	}
	f.Fuzz(func(t *testing.T, expression, user, team string) {
		opts := Options{Env: map[string]string{"STAGE": "dev"}}
		fields := []Field{{Name: "f", Expr: expression}}
		flatten = false
		strict, err := Compile(fields, opts)
		flatten = true
		if err != nil {
			return
		}
		flat, err := Compile(fields, opts)
		if err != nil {
			t.Fatalf("%q: compiles strictly but not flattened: %v", expression, err)
		}
		req := &events.APIGatewayWebsocketProxyRequest{
			QueryStringParameters:           map[string]string{"user": user},
			MultiValueQueryStringParameters: map[string][]string{"user": {user, team}},
			Headers:                         map[string]string{"X-Team": team},
			RequestContext: events.APIGatewayWebsocketProxyRequestContext{
				ConnectionID: "c", ConnectedAt: 1700000000123,
				Identity:   events.APIGatewayRequestIdentity{SourceIP: "10.0.0.1"},
				Authorizer: map[string]any{"tenant": team, "principalId": user},
			},
		}
		a, errA := strict.Evaluate(req)
		b, errB := flat.Evaluate(req)
		if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: strict %v %v, flattened %v %v", expression, a, errA, b, errB)
		}
	})
}
