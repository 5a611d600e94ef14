package eval_test

import (
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/lawcket/lawcket/eval"
)

// The design choice behind Program.Evaluate: a vm.VM taken from a
// sync.Pool versus a fresh one per run (what expr.Run does), for one
// expression over a map environment.
func BenchmarkVM(b *testing.B) {
	env := map[string]any{"query": map[string]any{"user": "ada"}}
	prog, err := expr.Compile(`lower(query.user ?? "anonymous")`, expr.Env(env))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("expr.Run", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := expr.Run(prog, env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reused", func(b *testing.B) {
		var m vm.VM
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Run(prog, env); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEvaluateOne is the fixed cost of Evaluate: one expression field.
func BenchmarkEvaluateOne(b *testing.B) {
	p, err := eval.Compile([]eval.Field{{Name: "user", Expr: `query.user ?? "anonymous"`}}, eval.Options{})
	if err != nil {
		b.Fatal(err)
	}
	req := bare()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Evaluate(req); err != nil {
			b.Fatal(err)
		}
	}
}
