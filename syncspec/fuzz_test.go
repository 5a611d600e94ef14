package syncspec_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/syncspec"
)

// FuzzParse loads arbitrary bytes: never a panic; either a spec whose
// program evaluates, or syncspec.Errors whose every entry has a position
// inside the file (or names an environment variable).
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "spec", dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	// Seeds from the pathological-spec corpus (limits_test.go), small.
	for _, s := range []string{
		"table: T12\nfields:\n  deep:\n    expr: " + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200) + "\n",
		"table: T12\nfields:\n  big:\n    expr: repeat(repeat(\"x\", 99999), 99999)\n",
		"table: T12\nfields:\n  big:\n    expr: 'reduce(1..34, #acc + #acc, query.x ?? \"x\")'\n",
		"table: T12\nfields:\n  n:\n    expr: sum(1..100000000000)\n",
		"table: T12\nfields:\n  l0: &a [x, x]\n  l1: &b [*a, *a]\n  l2: [*b, *b, *b]\n",
		"table: T12\nfields:\n  a: &a [*a]\n",
		"\ufefftable: T12\nfields:\n  a: x\n",
		"\xff\xfet\x00a\x00b\x00l\x00e\x00:\x00 \x00T\x001\x002\x00\n\x00",
		"table: T12\nfields:\n\troom: x\n",
		"table: T12\nfields:\n  b: \x01\n",
		"table: T12\nfields:\n  deep: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n",
		"table: T12\nfields:\n  bad: [unclosed\n  next: 1\n",
	} {
		f.Add([]byte(s))
	}
	req := event(f, "connect")
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("slow input: %q", data))
			}
		}()
		spec, err := syncspec.Parse("f.yaml", data, syncspec.WithLookupEnv(noEnv), syncspec.WithEvalOptions(eval.Options{Logger: slog.New(slog.DiscardHandler)}))
		if err == nil {
			if _, err := spec.Evaluate(req); err != nil {
				var r *eval.Refusal
				if !errors.As(err, &r) {
					t.Fatalf("evaluate: %v", err)
				}
			}
			return
		}
		var errs syncspec.Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("got %T %v, want syncspec.Errors", err, err)
		}
		lines := 1 + strings.Count(strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(string(data)), "\n")
		for _, e := range errs {
			if e.EnvVar == "" && (e.Line < 1 || e.Line > lines || e.Column < 1) {
				t.Fatalf("position %d:%d outside the file (%d lines): %v", e.Line, e.Column, lines, e)
			}
		}
	})
}
