package syncspec_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/lawcket/lawcket/syncspec"
)

// measured runs fn in a goroutine, fails the test when it takes longer than
// limit (generous: the point is "not minutes") or allocates more than
// maxAlloc bytes in all (runtime.MemStats.TotalAlloc), and returns what it
// took.
func measured(t *testing.T, limit time.Duration, maxAlloc uint64, fn func()) (time.Duration, uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("not done within %v", limit)
	}
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > maxAlloc {
		t.Fatalf("allocated %d bytes, want at most %d", alloc, maxAlloc)
	}
	return took, alloc
}

func errorsOf(t *testing.T, err error) syncspec.Errors {
	t.Helper()
	var errs syncspec.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("got %v, want syncspec.Errors", err)
	}
	return errs
}

// bigSpec is a valid spec of about size bytes in 4,000 long lines (under
// the old 5,000-line guard), followed by tail.
func bigSpec(size int, tail string) []byte {
	var b strings.Builder
	b.WriteString("table: T12\nfields:\n")
	lines := 4000
	pad := max(size/lines-20, 1)
	for i := range lines {
		fmt.Fprintf(&b, "  f%d: %s\n", i, strings.Repeat("x", pad))
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// TestSyntaxErrorLinear: a syntax error at the end of a 1 MB spec is
// reported at its line without re-parsing every prefix (issue 11.3: 73 s).
func TestSyntaxErrorLinear(t *testing.T) {
	data := bigSpec(1<<20/scale, "  bad: [unclosed\n  next: 1\n")
	lines := strings.Count(string(data), "\n")
	took, alloc := measured(t, 30*time.Second, 2<<30, func() {
		_, err := syncspec.Parse("spec.yaml", data, syncspec.WithLookupEnv(noEnv))
		errs := errorsOf(t, err)
		if len(errs) != 1 || errs[0].Line < lines-2 || !strings.Contains(errs[0].Message, "YAML syntax error") {
			t.Errorf("got %v, want one syntax error near line %d", err, lines-1)
		}
	})
	t.Logf("%d KB spec, syntax error on its last lines: %v, %d MB allocated", len(data)>>10, took, alloc>>20)
}

// TestAliasErrorPosition: aliases that nest deeply are refused at the alias
// that expands too far, not at 1:1 (issue 11.8); a spec that aliases a
// little is accepted.
func TestAliasErrorPosition(t *testing.T) {
	doubling := func(k int) []byte {
		var b strings.Builder
		b.WriteString("table: T12\nfields:\n  l0:\n    value: &a0 x\n")
		for i := 1; i <= k; i++ {
			fmt.Fprintf(&b, "  l%d:\n    value: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1)
		}
		return []byte(b.String())
	}
	// 2,047 values in all: yaml.v3's alias ratio refused it (at 1:1).
	spec, err := syncspec.Parse("spec.yaml", doubling(10), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		t.Fatalf("a spec with 2,047 literal values: %v", err)
	}
	if f, _ := spec.Field("l10"); len(f.Value.([]any)) != 2 {
		t.Fatalf("l10 = %v", f.Value)
	}
	// 2^17 values: over the 100,000 literal values, at an alias.
	_, err = syncspec.Parse("spec.yaml", doubling(17), syncspec.WithLookupEnv(noEnv))
	errs := errorsOf(t, err)
	e := errs[0]
	if len(errs) != 1 || e.Line < 4 || !strings.Contains(e.Message, "this alias expands too far") {
		t.Fatalf("got %v, want one error at an alias", err)
	}
	if line := strings.Split(string(doubling(17)), "\n")[e.Line-1]; line[e.Column-1] != '*' {
		t.Fatalf("%v points at %q, not at an alias", e, line[e.Column-1:])
	}
}

// TestPathologicalSpecs is the pathological-spec corpus of the fault suite
// (issue 11): each is refused or accepted with a positioned error, within
// a time bound (generous, via a context) and a bound on the bytes it
// allocates (runtime.MemStats). The figures are logged (go test -v); the
// large specs are smaller under the race detector (see scale).
func TestPathologicalSpecs(t *testing.T) {
	utf16le := func(s string) []byte {
		out := []byte{0xff, 0xfe}
		for _, u := range utf16.Encode([]rune(s)) {
			out = append(out, byte(u), byte(u>>8))
		}
		return out
	}
	manyFields := func(n int, expr bool) []byte {
		var b strings.Builder
		b.WriteString("table: T12\nfields:\n")
		for i := range n {
			if expr {
				fmt.Fprintf(&b, "  f%d:\n    expr: query.a%d ?? \"x\"\n", i, i%10)
			} else {
				fmt.Fprintf(&b, "  f%d: v%d\n", i, i)
			}
		}
		return []byte(b.String())
	}
	billionLaughs := "table: T12\nfields:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 0, "a"; i < 9; i++ {
		name := fmt.Sprintf("b%d", i)
		billionLaughs += fmt.Sprintf("  %s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	tests := []struct {
		name  string
		data  []byte
		ok    bool   // the spec loads
		want  string // else: a substring of the first error
		line  int    // and its line (0: any)
		alloc uint64 // bound on the bytes allocated
	}{
		{"huge literal string", []byte("table: T12\nfields:\n  big: " + strings.Repeat("x", 500<<10) + "\n"), false, "a row holds at most", 3, 64 << 20},
		{"huge expression", []byte("table: T12\nfields:\n  big:\n    expr: '\"" + strings.Repeat("x", 1<<20/scale) + "\"'\n"), false, "at most 16384", 4, 64 << 20},
		{"huge string built", []byte("table: T12\nfields:\n  big:\n    expr: repeat(repeat(\"x\", 99999), 99999)\n"), false, "400 KB", 4, 64 << 20},
		{"string doubling", []byte("table: T12\nfields:\n  big:\n    expr: 'reduce(1..34, #acc + #acc, \"x\")'\n"), false, "400 KB", 4, 64 << 20},
		{"sum overflow", []byte("table: T12\nfields:\n  n:\n    expr: sum(1..100000000000)\n"), false, "memory budget", 4, 64 << 20},
		{"deep parens", []byte("table: T12\nfields:\n  deep:\n    expr: " + strings.Repeat("(", 500_000/scale) + "1" + strings.Repeat(")", 500_000/scale) + "\n"), false, "brackets nest deeper", 4, 128 << 20},
		{"deep YAML flow", []byte("table: T12\nfields:\n  deep: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n"), false, "", 0, 512 << 20},
		{"deep YAML literal", []byte("table: T12\nfields:\n  deep: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n"), false, "nest deeper than DynamoDB's 32 levels", 3, 16 << 20},
		{"billion laughs", []byte(billionLaughs), false, "this alias expands too far", 0, 256 << 20},
		{"alias cycle", []byte("table: T12\nfields:\n  a: &a [*a]\n"), false, "nest deeper", 3, 16 << 20},
		{"UTF-8 BOM", []byte("\ufefftable: T12\nfields:\n  room:\n    expr: query.room ?? usr\n"), false, "unknown name usr", 4, 16 << 20},
		{"UTF-16 LE", utf16le("table: T12\nfields:\n  room:\n    expr: query.room\n"), true, "", 0, 16 << 20},
		{"UTF-16 error position", utf16le("table: T12\nfields:\n  room:\n    expr: query.room ?? usr\n"), false, "unknown name usr", 4, 16 << 20},
		{"tabs", []byte("table: T12\nfields:\n" + strings.Repeat("\troom: x\n", 10_000)), false, "tab character", 3, 256 << 20},
		{"control character", []byte("table: T12\nfields:\n  a: x\n  b: \x01\n"), false, "YAML syntax error", 4, 16 << 20},
		{"invalid UTF-8", []byte("table: T12\nfields:\n  a: x\n  b: \xff\xfe\xfd\n"), false, "YAML syntax error", 4, 16 << 20},
		{"10,000 literal fields", manyFields(10_000/scale, false), true, "", 0, 512 << 20},
		{"10,000 expression fields", manyFields(10_000/scale, true), true, "", 0, 2 << 30},
		{"over 2 MiB", bigSpec(3<<20, ""), false, "at most 2097152 are read", 1, 16 << 20},
		{"50 MB", bytes50MB(), false, "at most 2097152 are read", 1, 16 << 20},
		{"syntax error in 1.9 MB", bigSpec(1900<<10/scale, "  bad: {unclosed\n"), false, "YAML syntax error", 0, 2 << 30},
	}
	var worstTime time.Duration
	var worstAlloc uint64
	var worstTimeName, worstAllocName string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			took, alloc := measured(t, 60*time.Second, tt.alloc, func() {
				spec, err := syncspec.Parse("spec.yaml", tt.data, syncspec.WithLookupEnv(noEnv))
				if tt.ok {
					if err != nil {
						t.Errorf("got %.300v, want the spec to load", err)
						return
					}
					if _, err := spec.Evaluate(event(t, "connect")); err != nil {
						t.Errorf("evaluate: %v", err)
					}
					return
				}
				errs := errorsOf(t, err)
				e := errs[0]
				if !strings.Contains(e.Message, tt.want) || (tt.line != 0 && e.Line != tt.line) {
					t.Errorf("got %.300v, want an error containing %q at line %d", err, tt.want, tt.line)
				}
				if e.EnvVar == "" && (e.Line < 1 || e.Column < 1) {
					t.Errorf("%v: no position", e)
				}
			})
			t.Logf("%s (%d bytes): %v, %.1f MB allocated", tt.name, len(tt.data), took.Round(time.Millisecond), float64(alloc)/(1<<20))
			if took > worstTime {
				worstTime, worstTimeName = took, tt.name
			}
			if alloc > worstAlloc {
				worstAlloc, worstAllocName = alloc, tt.name
			}
		})
	}
	t.Logf("slowest: %s (%v); most allocated: %s (%.1f MB)", worstTimeName, worstTime.Round(time.Millisecond), worstAllocName, float64(worstAlloc)/(1<<20))

	// Load refuses a 50 MB file from its size, without reading it.
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, bytes50MB(), 0o644); err != nil {
		t.Fatal(err)
	}
	measured(t, 10*time.Second, 1<<20, func() {
		_, err := syncspec.Load(path)
		if errs := errorsOf(t, err); !strings.Contains(errs[0].Error(), "big.yaml:1:1: the spec is 52428800 bytes") {
			t.Errorf("got %v", err)
		}
	})
}

var big50 []byte

func bytes50MB() []byte {
	if big50 == nil {
		big50 = []byte("table: T12\nfields:\n  a: " + strings.Repeat("x", 50<<20-len("table: T12\nfields:\n  a: \n")) + "\n")
	}
	return big50
}
