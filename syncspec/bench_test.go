package syncspec_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/syncspec"
)

// benchEvent is the connect event of the benchmarks: an authorizer, a
// query string with user and room, and an X-Team header, so that every
// field of ten.yaml computes a value.
func benchEvent(tb testing.TB) *events.APIGatewayWebsocketProxyRequest {
	req := event(tb, "connect-authorizer")
	req.QueryStringParameters = map[string]string{"user": "ada", "room": "lobby"}
	req.MultiValueQueryStringParameters = map[string][]string{"user": {"ada"}, "room": {"lobby"}}
	req.Headers["X-Team"] = "Red"
	req.MultiValueHeaders["X-Team"] = []string{"Red"}
	return req
}

func loadTen(tb testing.TB) *syncspec.Spec {
	spec, err := syncspec.Load("../testdata/spec/good/ten.yaml", syncspec.WithLookupEnv(envOf("STAGE_NAME", "prod")))
	if err != nil {
		tb.Fatal(err)
	}
	return spec
}

var (
	tenTags = []any{"chat", "ws"}
	tenPlan = map[string]any{"tier": "free", "seats": 5}
)

// handWritten is ten.yaml written as Go: the floor the compiled spec is
// measured against.
func handWritten(req *events.APIGatewayWebsocketProxyRequest, stage string) (map[string]any, error) {
	out := make(map[string]any, 10)
	out["channel"] = "#general"
	out["version"] = 3
	out["beta"] = false
	out["tags"] = tenTags
	out["plan"] = tenPlan
	if u, ok := req.QueryStringParameters["user"]; ok {
		out["user"] = u
	} else {
		out["user"] = "anonymous"
	}
	room, ok := req.QueryStringParameters["room"]
	if !ok || room == "" {
		return nil, &eval.Refusal{Field: "room", Reason: "required, but its expression gave nil"}
	}
	out["room"] = room
	out["team"] = "none"
	for k, v := range req.Headers {
		if strings.EqualFold(k, "x-team") {
			out["team"] = strings.ToLower(v)
		}
	}
	out["tenant"] = "public"
	if a, ok := req.RequestContext.Authorizer.(map[string]any); ok {
		if t, ok := a["tenant"]; ok && t != nil {
			s, ok := t.(string)
			if !ok {
				return nil, &eval.Refusal{Field: "tenant", Reason: "not a string"}
			}
			out["tenant"] = s
		}
	}
	out["origin"] = stage + ":" + req.RequestContext.Identity.SourceIP
	return out, nil
}

// The hand-written equivalent computes exactly what the spec does, so the
// benchmark ratio compares like with like.
func TestHandWrittenMatchesTen(t *testing.T) {
	spec := loadTen(t)
	req := benchEvent(t)
	got, err := spec.Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := handWritten(req, "prod")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("spec %v\nhand %v", got, want)
	}
	if len(got) != 10 {
		t.Fatalf("%d fields, want 10", len(got))
	}
}

// BenchmarkEvaluate is the per-connection cost of the 10-field spec
// (target: ≤ 3 µs and ≤ 40 allocs/op).
func BenchmarkEvaluate(b *testing.B) {
	spec := loadTen(b)
	req := benchEvent(b)
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if _, err := spec.Program.Evaluate(req); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkEvaluateParallel is BenchmarkEvaluate from GOMAXPROCS goroutines
// sharing one Program.
func BenchmarkEvaluateParallel(b *testing.B) {
	spec := loadTen(b)
	req := benchEvent(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := spec.Program.Evaluate(req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEvaluateCompilePerCall compiles the fields for every connection,
// what lawcket avoids by compiling once at init.
func BenchmarkEvaluateCompilePerCall(b *testing.B) {
	spec := loadTen(b)
	fields := make([]eval.Field, len(spec.Fields))
	for i, f := range spec.Fields {
		fields[i] = f.Field
	}
	opts := eval.Options{Env: map[string]string{"STAGE_NAME": "prod"}}
	req := benchEvent(b)
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		p, err := eval.Compile(fields, opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Evaluate(req); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkEvaluateHandWritten is the same row computed by Go code.
func BenchmarkEvaluateHandWritten(b *testing.B) {
	req := benchEvent(b)
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if _, err := handWritten(req, "prod"); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// fiftyFields is a 50-field spec: 20 literals of every kind and 30
// expressions over every environment name.
func fiftyFields() []byte {
	var b strings.Builder
	b.WriteString("table: Connections\nttl: 2h\nenv: [STAGE_NAME]\nfields:\n")
	literals := []string{`"#general"`, `42`, `true`, `[a, b, c]`, "\n    value: {tier: free, seats: 5, tags: [x, y]}"}
	exprs := []string{
		"\n    expr: query.user ?? \"anonymous\"",
		"\n    expr: query.room\n    required: true\n    index: true",
		"\n    expr: lower(headers[\"x-team\"])\n    default: none",
		"\n    expr: authorizer.tenant ?? \"public\"\n    type: string",
		"\n    expr: env.STAGE_NAME + \":\" + requestContext.identity.sourceIp",
		"\n    expr: requestContext.connectedAt / 1000\n    type: number",
	}
	for i := range 20 {
		fmt.Fprintf(&b, "  lit%d: %s\n", i, literals[i%len(literals)])
	}
	for i := range 30 {
		e := exprs[i%len(exprs)]
		if i >= len(exprs) {
			e = strings.Replace(e, "    index: true", "    type: string", 1)
		}
		fmt.Fprintf(&b, "  expr%d:%s\n", i, e)
	}
	return []byte(b.String())
}

func TestFiftyFields(t *testing.T) {
	spec, err := syncspec.Parse("fifty.yaml", fiftyFields(), syncspec.WithLookupEnv(envOf("STAGE_NAME", "prod")))
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Fields) != 50 {
		t.Fatalf("%d fields, want 50", len(spec.Fields))
	}
	if _, err := spec.Evaluate(benchEvent(t)); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLoad50 is the cold-start cost: load, validate and compile a
// 50-field spec (target: ≤ 5 ms).
func BenchmarkLoad50(b *testing.B) {
	data := fiftyFields()
	lookup := syncspec.WithLookupEnv(envOf("STAGE_NAME", "prod"))
	b.ReportAllocs()
	done := reportCPU(b)
	for b.Loop() {
		if _, err := syncspec.Parse("fifty.yaml", data, lookup); err != nil {
			b.Fatal(err)
		}
	}
	done()
}
