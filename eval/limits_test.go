package eval_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/eval"
)

// bounded runs fn in a goroutine and fails the test when it takes longer
// than limit (a generous bound: the point is "not 60 s") or allocates more
// than maxAlloc bytes in all (runtime.MemStats.TotalAlloc).
func bounded(t *testing.T, limit time.Duration, maxAlloc uint64, fn func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("not done within %v", limit)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > maxAlloc {
		t.Fatalf("allocated %d bytes, want at most %d", got, maxAlloc)
	}
}

// withQuery is a connect event with one query parameter.
func withQuery(k, v string) *events.APIGatewayWebsocketProxyRequest {
	req := bare()
	req.QueryStringParameters = map[string]string{k: v}
	return req
}

// TestStringGrowthBounded: expressions that build strings without bound
// (issue 11.1) fail the field in bounded time and memory at run time, and
// are refused at compile time when they read nothing of the event.
func TestStringGrowthBounded(t *testing.T) {
	runtimeCases := []string{
		`repeat(repeat(query.x, 99999), 99999)`,
		`reduce(1..34, #acc + #acc, query.x)`,
		`join(map(1..90000, repeat(query.x, 100)), ",")`,
		`replace(repeat(query.x, 300000), "x", repeat(query.x, 1000))`,
		`toJSON(map(1..90000, repeat(query.x, 300000)))`,
		`string(map(1..90000, repeat(query.x, 300000)))`,
		`upper(repeat(query.x, 300000)) + upper(repeat(query.x, 300000))`,
		`toBase64(repeat(query.x, 400000))`,
		`map(1..90000, repeat(query.x, 300000))`,
		`all(1..1000, all(1..1000, all(1..1000, query.x != "y")))`,
		"let a = [1,2,3,4,5,6,7,8,9,10]; " + strings.Repeat("count(a, ", 6) + `query.x != ""` + strings.Repeat(") != 99", 5) + ")",
	}
	for _, expression := range runtimeCases {
		t.Run(expression, func(t *testing.T) {
			var logs bytes.Buffer
			opts := eval.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			opt, err := eval.Compile([]eval.Field{{Name: "f", Expr: expression}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			req, err2 := eval.Compile([]eval.Field{{Name: "f", Expr: expression, Required: true}}, opts)
			if err2 != nil {
				t.Fatal(err2)
			}
			bounded(t, 10*time.Second, 64<<20, func() {
				out, err := opt.Evaluate(withQuery("x", "x"))
				if err != nil || len(out) != 0 {
					t.Errorf("optional: got %v %v, want the field omitted", out, err)
				}
				_, err = req.Evaluate(withQuery("x", "x"))
				var r *eval.Refusal
				if !errors.As(err, &r) || r.Field != "f" || !strings.Contains(r.Reason, "exceeded a limit") || !errors.Is(err, eval.ErrLimit) && !strings.Contains(r.Reason, "memory budget") {
					t.Errorf("required: got %v, want a refusal of f naming the limit", err)
				}
			})
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "field=f") {
				t.Errorf("the omitted optional field was not logged: %q", logs.String())
			}
		})
	}
}

// TestLimitsRefusedAtCompile: what can be refused at compile time is.
func TestLimitsRefusedAtCompile(t *testing.T) {
	for _, tt := range []struct{ expr, msg string }{
		{`repeat(repeat("x", 99999), 99999)`, "400 KB"},
		{`reduce(1..34, #acc + #acc, "x")`, "400 KB"},
		{`repeat(query.x ?? "", 1000000)`, "repeat builds more than"},
		{`sum(1..100000000000)`, "memory budget"},
		{`9223372036854775807 + 1`, "overflow"},
		{`5000000000 * 5000000000`, "overflow"},
		{`sum([9223372036854775807, 1])`, "overflow"},
		{`int(1e30)`, "outside the 64-bit integer range"},
		{`-9223372036854775807 - 2`, "overflow"},
		{`-(-9223372036854775807 - 1)`, "overflow"},
		{`abs(-9223372036854775807 - 1)`, "overflow"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			bounded(t, 10*time.Second, 64<<20, func() {
				_, err := eval.Compile([]eval.Field{{Name: "f", Expr: tt.expr}}, eval.Options{})
				var ce *eval.CompileError
				if !errors.As(err, &ce) || ce.Key != "expr" || !strings.Contains(ce.Message, tt.msg) {
					t.Errorf("got %v, want a compile error containing %q", err, tt.msg)
				}
			})
		})
	}
}

// TestOverflowAtRunTime: integer overflow on event data is an error, not a
// wrapped-around number (issue 11.1).
func TestOverflowAtRunTime(t *testing.T) {
	for _, expression := range []string{
		`int(query.n) + 9223372036854775807`,
		`int(query.n) * 9223372036854775807`,
		`sum([int(query.n), 9223372036854775807])`,
		`sum(1..3, # * (int(query.n) + 4611686018427387904))`,
		`reduce([1, 2], #acc + int(query.n) * 4611686018427387904, 0)`,
		`-(int(query.n) - 9223372036854775807 - 3)`,
		`abs(int(query.n) - 9223372036854775807 - 3)`,
	} {
		t.Run(expression, func(t *testing.T) {
			p, err := eval.Compile([]eval.Field{{Name: "f", Expr: expression, Required: true}}, eval.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Evaluate(withQuery("n", "2"))
			if !errors.Is(err, eval.ErrLimit) || !strings.Contains(err.Error(), "f") {
				t.Fatalf("got %v, want a limit refusal of f", err)
			}
		})
	}
	// Within range, arithmetic is unchanged.
	p, err := eval.Compile([]eval.Field{{Name: "f", Expr: `int(query.n) * 3 - 1 + sum([1, 2]) + sum(1..3, # * 2)`}}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Evaluate(withQuery("n", "2"))
	if err != nil || out["f"] != 20 {
		t.Fatalf("got %v %v, want 20", out, err)
	}
	// Negation and abs of ints and floats in range, as expr computes them.
	p, err = eval.Compile([]eval.Field{
		{Name: "neg", Expr: `-int(query.n)`},
		{Name: "abs", Expr: `abs(-int(query.n))`},
		{Name: "fneg", Expr: `-float(query.n)`},
		{Name: "fabs", Expr: `abs(-float(query.n))`},
	}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err = p.Evaluate(withQuery("n", "2"))
	if err != nil || out["neg"] != -2 || out["abs"] != 2 || out["fneg"] != -2.0 || out["fabs"] != 2.0 {
		t.Fatalf("got %v %v, want neg -2, abs 2, fneg -2.0, fabs 2.0", out, err)
	}
}

// TestBudgetIsPerEvaluation: the string budget is shared by the fields of
// one connect, and restored for the next.
func TestBudgetIsPerEvaluation(t *testing.T) {
	var fields []eval.Field
	for i := range 5 {
		fields = append(fields, eval.Field{Name: fmt.Sprintf("f%d", i), Expr: `repeat(query.x, 100000)`})
	}
	p, err := eval.Compile(fields, eval.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		out, err := p.Evaluate(withQuery("x", "x"))
		if err != nil || len(out) != 4 {
			t.Fatalf("got %d fields (%v), want 4 of 100,000 bytes within the 400 KB budget", len(out), err)
		}
	}
}

// TestDeepNesting: 500,000 nested parentheses (issue 11.2) are refused with
// a position, before expr's parser recurses on them.
func TestDeepNesting(t *testing.T) {
	for _, tt := range []struct {
		name, expr string
		col        int
	}{
		{"parens", strings.Repeat("(", 500_000) + "1" + strings.Repeat(")", 500_000), eval.MaxNesting + 1},
		{"brackets", "[" + strings.Repeat("[", 100_000), eval.MaxNesting + 1},
		{"maps", strings.Repeat("{a: ", 10_000) + "1", 4*eval.MaxNesting + 1},
		{"bang", strings.Repeat("!", 8000) + "true", eval.MaxNesting + 1},
		{"not", strings.Repeat("not ", 8000) + "true", 4*eval.MaxNesting + 1},
		{"after a comment", "/* ( */ // [\n" + strings.Repeat("(", 100) + "1", 0},
		{"minus", "1 + " + strings.Repeat("- ", 8000) + "1", 5 + 2*(eval.MaxNesting-1)}, // the binary + counts too
		{"long", `"` + strings.Repeat("x", 20000) + `"`, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bounded(t, 10*time.Second, 32<<20, func() {
				_, err := eval.Compile([]eval.Field{{Name: "f", Expr: tt.expr}}, eval.Options{})
				var ce *eval.CompileError
				line, col := 1, tt.col
				if col == 0 {
					line, col = 2, eval.MaxNesting+1
				}
				if !errors.As(err, &ce) || ce.Line != line || ce.Column != col {
					t.Errorf("got %v, want an error at %d:%d", err, line, col)
				}
			})
		})
	}
	// Brackets in strings and comments do not count.
	deepText := `"` + strings.Repeat("(", 100) + `" + '` + strings.Repeat("[", 100) + `' /* ` + strings.Repeat("{", 100) + " */ + `" + strings.Repeat("(", 100) + "` // " + strings.Repeat("(", 100) + "\n + notation"
	deepText = strings.Replace(deepText, "notation", `"x"`, 1)
	if _, err := eval.Compile([]eval.Field{{Name: "f", Expr: deepText}}, eval.Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestManyHeaderCaseVariants: 16,384 case variants of one header name
// (issue 11.7) are folded in linear time, and the first in sort order wins.
func TestManyHeaderCaseVariants(t *testing.T) {
	req := bare()
	req.Headers = map[string]string{}
	req.MultiValueHeaders = map[string][]string{}
	name := "x-abcdefghijklmn" // 14 letters: 16,384 case variants
	letters := []byte(name[2:])
	for i := range 1 << len(letters) {
		b := []byte(name)
		for j := range letters {
			if i&(1<<j) != 0 {
				b[2+j] -= 'a' - 'A'
			}
		}
		req.Headers[string(b)] = string(b)
		req.MultiValueHeaders[string(b)] = []string{string(b)}
	}
	p, err := eval.Compile([]eval.Field{
		{Name: "one", Expr: `headers["x-abcdefghijklmn"]`},
		{Name: "all", Expr: `len(headers)`},
		{Name: "multi", Expr: `headersAll["x-abcdefghijklmn"][0]`},
		{Name: "dyn", Expr: `headers[lower(query.h ?? "X-ABCDEFGHIJKLMN")]`},
	}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bounded(t, 10*time.Second, 64<<20, func() {
		out, err := p.Evaluate(req)
		if err != nil {
			t.Error(err)
			return
		}
		first := "x-ABCDEFGHIJKLMN" // upper case sorts first
		if out["one"] != first || out["all"] != 1 || out["multi"] != first || out["dyn"] != first {
			t.Errorf("got %v", out)
		}
	})
}

// TestConstantWithUnsetEnv: an expression over an env variable that is
// unset at compile time is not judged then (it may be set where it runs).
func TestConstantWithUnsetEnv(t *testing.T) {
	f := []eval.Field{{Name: "f", Expr: `lower(env.STAGE)`}}
	if _, err := eval.Compile(f, eval.Options{EnvNames: []string{"STAGE"}}); err != nil {
		t.Fatalf("unset: %v", err)
	}
	f = []eval.Field{{Name: "f", Expr: `repeat(env.STAGE, 300000) + repeat(env.STAGE, 300000)`}}
	if _, err := eval.Compile(f, eval.Options{Env: map[string]string{"STAGE": "x"}}); err == nil || !strings.Contains(err.Error(), "always fails") {
		t.Fatalf("set: got %v, want the constant refused", err)
	}
}
