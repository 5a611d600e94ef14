package eval_test

import (
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/eval"
)

// FuzzEval compiles arbitrary expressions and evaluates them against an
// event built from the fuzzed query value: never a panic, and an outcome
// is either a row of storable values or a *Refusal.
func FuzzEval(f *testing.F) {
	for _, s := range []string{
		`query.user ?? "anonymous"`, `lower(headers["x-team"])`, `requestContext.connectedAt / 1000`,
		`authorizer.tenantId`, `split(query.user, ",")`, `{a: query.user, b: [1, 2.5, true, nil]}`,
		`1..100`, `env.STAGE_NAME + "-" + requestContext.stage`, `query.user matches "^a"`,
		`let x = query.user; x ?? ""`, `queryAll.user[0]`, `(`, `headers.X`, `int(query.user)`,
		// limits (limits_test.go)
		`repeat(repeat(query.user, 999), 999)`, `reduce(1..34, #acc + #acc, query.user)`,
		`join(map(1..900, repeat(query.user, 999)), ",")`, `toJSON(map(1..900, repeat(query.user, 999)))`,
		`replace(repeat(query.user, 999), query.user, repeat(query.user, 99))`, `string(map(1..99, query.user))`,
		`int(query.user) + 9223372036854775807`, `sum([int(query.user), 9223372036854775807])`,
		`all(1..100, all(1..100, all(1..100, query.user != "")))`, `((((((((((query.user))))))))))`,
		`!!!!!!!!!!true`, `upper(query.user) + lower(query.user)`, `toBase64(query.user)`, `$env`,
	} {
		f.Add(s, "ada")
	}
	f.Fuzz(func(t *testing.T, expression, value string) {
		for _, typ := range []eval.Kind{0, eval.String} {
			p, err := eval.Compile([]eval.Field{{Name: "f", Expr: expression, Type: typ}},
				eval.Options{Env: map[string]string{"STAGE_NAME": "dev"}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				continue
			}
			req := &events.APIGatewayWebsocketProxyRequest{
				QueryStringParameters:           map[string]string{"user": value},
				MultiValueQueryStringParameters: map[string][]string{"user": {value}},
				Headers:                         map[string]string{"X-Team": value},
				RequestContext:                  events.APIGatewayWebsocketProxyRequestContext{ConnectionID: "c", Authorizer: map[string]any{"tenantId": value}},
			}
			out, err := p.Evaluate(req)
			if err != nil {
				if _, ok := err.(*eval.Refusal); !ok {
					t.Fatalf("%q: error %T %v is not a *Refusal", expression, err, err)
				}
				continue
			}
			if v, ok := out["f"]; ok && v == nil {
				t.Fatalf("%q: nil stored", expression)
			}
		}
	})
}
