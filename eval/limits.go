package eval

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm/runtime"
)

// Limits. The VM's memory budget (Options.MemoryBudget) charges ranges,
// arrays and maps, but not string growth nor loop steps, and expr's
// integer arithmetic wraps around. So the program that runs is patched
// (see limiter): every operation that builds a string (+ on strings,
// repeat, join, replace, upper, lower, string, toJSON, toBase64,
// fromBase64) is charged, before it allocates where its size is known, to a
// budget of MaxStringBytes per evaluation (all fields of one connect
// together); every step of a predicate (map, filter, all, reduce, …) is
// charged to MaxSteps; + - * and unary minus on integers, abs and sum fail on overflow; int()
// fails on a float out of range. A field whose evaluation hits a limit
// fails with an error that errors.Is(err, ErrLimit) reports (see
// Program.Evaluate for what a failed field does).
const (
	// MaxStringBytes bounds the bytes of the strings one evaluation
	// builds: no value larger than DynamoDB's 400 KB item can be stored.
	MaxStringBytes = 400 << 10
	// MaxSteps bounds the predicate steps (one per element a map, filter,
	// all, reduce, … visits) of one evaluation.
	MaxSteps = 100_000
	// MaxExprBytes bounds the length of an expression's text.
	MaxExprBytes = 16 << 10
	// MaxNesting bounds how deeply brackets nest in an expression, and how
	// many prefix operators (! - + not) may follow each other: expr's
	// parser recurses on both.
	MaxNesting = 64
)

// ErrLimit is reported (through errors.Is) by an evaluation that exceeded
// one of the budgets: MaxStringBytes, MaxSteps, the memory budget, or the
// range of a 64-bit integer.
var ErrLimit = errors.New("eval: limit exceeded")

type limitError struct{ msg string }

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }

func limitf(format string, args ...any) error {
	return &limitError{msg: fmt.Sprintf(format, args...)}
}

// isLimit reports whether err is an evaluation that hit a limit, the VM's
// own memory budget included.
func isLimit(err error) bool {
	return errors.Is(err, ErrLimit) || (err != nil && strings.Contains(err.Error(), "memory budget exceeded"))
}

// limitReason is the limit an error hit, in words.
func limitReason(err error) string {
	var le *limitError
	if errors.As(err, &le) {
		return le.msg
	}
	return "it allocates more than its memory budget (ranges, arrays and maps)"
}

var (
	errBytes = limitf("the strings it builds exceed %d bytes (DynamoDB's 400 KB item limit)", MaxStringBytes)
	errSteps = limitf("its loops take more than %d steps", MaxSteps)
)

// bounds is the budget of one evaluation, shared by its fields. The run
// environment holds it under nameBounds; the patched calls receive it as
// their first argument.
type bounds struct {
	bytes, steps int
}

// nameBounds is the environment name of the evaluation's *bounds; no
// expression can write a NUL in a name.
const nameBounds = "\x00bounds"

func (b *bounds) reset() { b.bytes, b.steps = MaxStringBytes, MaxSteps }

// charge takes n bytes from the budget.
func (b *bounds) charge(n int) error {
	if n < 0 || n > b.bytes {
		b.bytes = -1
		return errBytes
	}
	b.bytes -= n
	return nil
}

// The patched functions, named so that no expression can call them.
const (
	fnAdd  = "\x00add"
	fnSub  = "\x00sub"
	fnMul  = "\x00mul"
	fnTick = "\x00tick"
	fnSum  = "\x00sum"
	fnEnv  = "\x00env"
	fnNeg  = "\x00neg"
	fnAbs  = "\x00abs"
)

// limiter patches a program that runs (see the Limits comment above). It
// runs after expr's checker has typed the tree and before its optimizer.
// A call it can refuse outright (repeat with a constant count beyond
// MaxStringBytes) is recorded in err.
type limiter struct {
	err *file.Error
}

// options are the expr options of the patched program: the patch and the
// functions it calls.
func (l *limiter) options() []expr.Option {
	opts := []expr.Option{
		expr.Patch(l),
		expr.Function(fnAdd, arith(addInt, runtime.Add, true)),
		expr.Function(fnSub, arith(subInt, runtime.Subtract, false)),
		expr.Function(fnMul, arith(mulInt, runtime.Multiply, false)),
		expr.Function(fnTick, tick),
		expr.Function(fnSum, sum),
		expr.Function(fnEnv, envView),
		expr.Function(fnNeg, negate),
		expr.Function(fnAbs, absolute),
	}
	for name, fn := range boundedBuiltins {
		opts = append(opts, expr.Function("\x00"+name, fn))
	}
	return opts
}

func boundsIdent() ast.Node { return &ast.IdentifierNode{Value: nameBounds} }

func kindOf(n ast.Node) reflect.Kind {
	t := n.Type()
	if t == nil {
		return reflect.Interface
	}
	return t.Kind()
}

// Visit rewrites one node (ast.Walk visits children first).
func (l *limiter) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" { // $env shows the environment without nameBounds
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnEnv}, Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}}})
		}
	case *ast.PredicateNode:
		n.Node = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnTick}, Arguments: []ast.Node{boundsIdent(), n.Node}}
	case *ast.BinaryNode:
		lk, rk := kindOf(n.Left), kindOf(n.Right)
		either := func(ks ...reflect.Kind) bool {
			for _, k := range ks {
				if lk == k || rk == k {
					return true
				}
			}
			return false
		}
		fn := ""
		switch {
		case n.Operator == "+" && either(reflect.String, reflect.Int, reflect.Interface):
			fn = fnAdd
		case n.Operator == "-" && either(reflect.Int, reflect.Interface):
			fn = fnSub
		case n.Operator == "*" && either(reflect.Int, reflect.Interface):
			fn = fnMul
		}
		if fn != "" {
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: []ast.Node{boundsIdent(), n.Left, n.Right}})
		}
	case *ast.UnaryNode:
		if k := kindOf(n.Node); n.Operator == "-" && (k == reflect.Int || k == reflect.Interface) {
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnNeg}, Arguments: []ast.Node{n.Node}})
		}
	case *ast.BuiltinNode:
		if n.Name == "abs" && len(n.Arguments) == 1 {
			if k := kindOf(n.Arguments[0]); k == reflect.Int || k == reflect.Interface {
				ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnAbs}, Arguments: n.Arguments})
				return
			}
		}
		if n.Name == "sum" && len(n.Arguments) > 0 {
			arg := n.Arguments[0]
			if len(n.Arguments) == 2 { // sum(a, p) is sum(map(a, p))
				arg = &ast.BuiltinNode{Name: "map", Arguments: n.Arguments}
			}
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnSum}, Arguments: []ast.Node{boundsIdent(), arg}})
			return
		}
		if _, ok := boundedBuiltins[n.Name]; !ok {
			return
		}
		if n.Name == "repeat" && len(n.Arguments) == 2 && l.err == nil {
			if c, ok := n.Arguments[1].(*ast.IntegerNode); ok {
				size := c.Value
				if s, ok := n.Arguments[0].(*ast.StringNode); ok && len(s.Value) > 0 {
					size = c.Value * len(s.Value)
					if c.Value > MaxStringBytes {
						size = MaxStringBytes + 1
					}
				}
				if size > MaxStringBytes {
					l.err = &file.Error{Location: n.Location(), Message: fmt.Sprintf("repeat builds more than %d bytes (DynamoDB's 400 KB item limit)", MaxStringBytes)}
				}
			}
		}
		args := append([]ast.Node{boundsIdent()}, n.Arguments...)
		ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: "\x00" + n.Name}, Arguments: args})
	}
}

// envView is $env without the names no expression can write.
func envView(args ...any) (any, error) {
	env, ok := args[0].(map[string]any)
	if !ok {
		return args[0], nil
	}
	out := make(map[string]any, len(env))
	for k, v := range env {
		if !strings.Contains(k, "\x00") {
			out[k] = v
		}
	}
	return out, nil
}

// tick charges one predicate step and passes the predicate's value on.
func tick(args ...any) (any, error) {
	b := args[0].(*bounds)
	if b.steps--; b.steps < 0 {
		return nil, errSteps
	}
	return args[1], nil
}

// arith is + - or * : checked on two ints, on two strings (for +,
// charged), else expr's own operation.
func arith(onInt func(a, b int) (int, bool), other func(a, b any) any, concat bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		b, x, y := args[0].(*bounds), args[1], args[2]
		switch a := x.(type) {
		case int:
			if c, ok := y.(int); ok {
				r, ok := onInt(a, c)
				if !ok {
					return nil, limitf("integer overflow: the result is outside the 64-bit range")
				}
				return r, nil
			}
		case string:
			if s, ok := y.(string); ok && concat {
				if err := b.charge(len(a) + len(s)); err != nil {
					return nil, err
				}
				return a + s, nil
			}
		}
		return other(x, y), nil
	}
}

func addInt(a, b int) (int, bool) {
	r := a + b
	return r, (a^r)&(b^r) >= 0
}

func subInt(a, b int) (int, bool) {
	r := a - b
	return r, (a^b)&(a^r) >= 0
}

func mulInt(a, b int) (int, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	r := a * b
	return r, r/b == a && !(a == -1 && b == math.MinInt) && !(b == -1 && a == math.MinInt)
}

// negate is unary minus, failing on the one int without a negation
// (math.MinInt); other values are negated as expr does.
func negate(args ...any) (any, error) {
	if a, ok := args[0].(int); ok {
		if a == math.MinInt {
			return nil, limitf("integer overflow: the result is outside the 64-bit range")
		}
		return -a, nil
	}
	return runtime.Negate(args[0]), nil
}

// absolute is abs, failing on math.MinInt, whose absolute value is out of
// range; other values go to expr's abs.
func absolute(args ...any) (any, error) {
	if a, ok := args[0].(int); ok {
		if a == math.MinInt {
			return nil, limitf("integer overflow: the result is outside the 64-bit range")
		}
		if a < 0 {
			return -a, nil
		}
		return a, nil
	}
	return builtin.Abs(args[0]), nil
}

// sum is expr's sum with overflow-checked integer addition.
func sum(args ...any) (any, error) {
	rv := reflect.ValueOf(args[1])
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, fmt.Errorf("invalid argument for sum (type %T)", args[1])
	}
	var acc any = 0
	for i := 0; i < rv.Len(); i++ {
		e := rv.Index(i).Interface()
		if a, ok := acc.(int); ok {
			if c, ok := e.(int); ok {
				r, ok := addInt(a, c)
				if !ok {
					return nil, limitf("integer overflow: the sum is outside the 64-bit range")
				}
				acc = r
				continue
			}
		}
		acc = runtime.Add(acc, e)
	}
	return acc, nil
}

// boundedBuiltins are the string-building builtins, each checked (before
// it allocates where the size is known) and then run as expr's own.
var boundedBuiltins = map[string]func(args ...any) (any, error){
	"repeat": bounded("repeat", func(b *bounds, args []any) error {
		s, ok := args[0].(string)
		n := runtime.ToInt(args[1])
		if !ok || n <= 0 || len(s) == 0 {
			return nil
		}
		if n > MaxStringBytes/len(s) {
			return b.charge(-1)
		}
		return b.charge(len(s) * n)
	}, nil),
	"join": bounded("join", func(b *bounds, args []any) error {
		glue := ""
		if len(args) == 2 {
			glue, _ = args[1].(string)
		}
		n := 0
		add := func(s string) bool { n += len(s) + len(glue); return n <= b.bytes }
		switch l := args[0].(type) {
		case []string:
			for _, s := range l {
				if !add(s) {
					return b.charge(-1)
				}
			}
		case []any:
			for _, e := range l {
				s, _ := e.(string)
				if !add(s) {
					return b.charge(-1)
				}
			}
		}
		return b.charge(max(n-len(glue), 0))
	}, nil),
	"replace": bounded("replace", func(b *bounds, args []any) error {
		s, _ := args[0].(string)
		old, _ := args[1].(string)
		repl, _ := args[2].(string)
		cnt := 0
		if old == "" {
			cnt = utf8.RuneCountInString(s) + 1
		} else {
			cnt = strings.Count(s, old)
		}
		if len(args) == 4 {
			if n := runtime.ToInt(args[3]); n >= 0 && n < cnt {
				cnt = n
			}
		}
		if cnt == 0 {
			return nil
		}
		if grow := len(repl) - len(old); grow > 0 && cnt > (MaxStringBytes-len(s))/grow+1 {
			return b.charge(-1)
		}
		return b.charge(len(s) + cnt*(len(repl)-len(old)))
	}, nil),
	"upper":      bounded("upper", nil, chargeResult),
	"lower":      bounded("lower", nil, chargeResult),
	"fromBase64": bounded("fromBase64", nil, chargeResult),
	"toBase64": bounded("toBase64", func(b *bounds, args []any) error {
		s, _ := args[0].(string)
		return b.charge((len(s) + 2) / 3 * 4)
	}, nil),
	"string": bounded("string", func(b *bounds, args []any) error {
		if _, ok := args[0].(string); ok {
			return nil // returned as is
		}
		return b.fits(args[0])
	}, chargeNonString),
	"toJSON": bounded("toJSON", func(b *bounds, args []any) error { return b.fits(args[0]) }, chargeResult),
	"int": bounded("int", func(b *bounds, args []any) error {
		switch f := args[0].(type) {
		case float64:
			if !(f >= math.MinInt64 && f < math.MaxInt64) {
				return limitf("int(%g): outside the 64-bit integer range", f)
			}
		case float32:
			if !(f >= math.MinInt64 && f < math.MaxInt64) {
				return limitf("int(%g): outside the 64-bit integer range", f)
			}
		}
		return nil
	}, nil),
}

func chargeResult(b *bounds, out any, args []any) error {
	s, _ := out.(string)
	return b.charge(len(s))
}

func chargeNonString(b *bounds, out any, args []any) error {
	if _, ok := args[0].(string); ok {
		return nil
	}
	return chargeResult(b, out, args)
}

// bounded wraps expr's builtin name: before runs first (and may refuse),
// then the builtin, then after (which may charge its result).
func bounded(name string, before func(b *bounds, args []any) error, after func(b *bounds, out any, args []any) error) func(args ...any) (any, error) {
	f := builtin.Builtins[builtin.Index[name]]
	return func(args ...any) (any, error) {
		b, rest := args[0].(*bounds), args[1:]
		if before != nil {
			if err := before(b, rest); err != nil {
				return nil, err
			}
		}
		var out any
		var err error
		switch {
		case f.Fast != nil && len(rest) == 1:
			out = f.Fast(rest[0])
		case f.Safe != nil:
			out, _, err = f.Safe(rest...)
		default:
			out, err = f.Func(rest...)
		}
		if err == nil && after != nil {
			err = after(b, out, rest)
		}
		return out, err
	}
}

// fits refuses a value whose formatting (string, toJSON) would exceed the
// budget: it walks the value, adding at least one byte per element and the
// bytes of every string, and stops as soon as the sum is over.
func (b *bounds) fits(v any) error {
	n := 0
	var walk func(v any, depth int) bool
	walk = func(v any, depth int) bool {
		if depth > 2*MaxDepth {
			n = math.MaxInt
			return false
		}
		switch x := v.(type) {
		case string:
			n += len(x) + 1
		case []any:
			for _, e := range x {
				if !walk(e, depth+1) {
					return false
				}
			}
		case []string:
			for _, e := range x {
				if n += len(e) + 1; n > b.bytes {
					return false
				}
			}
		case map[string]any:
			for k, e := range x {
				n += len(k) + 1
				if !walk(e, depth+1) {
					return false
				}
			}
		default:
			rv := reflect.ValueOf(v)
			if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array || rv.Kind() == reflect.Map {
				n += rv.Len()
			} else {
				n++
			}
		}
		return n <= b.bytes
	}
	if !walk(v, 0) {
		return b.charge(-1)
	}
	return nil
}

// checkShape refuses, before expr parses it, an expression its parser
// cannot take safely: longer than MaxExprBytes, or nesting brackets or
// prefix operators deeper than MaxNesting (the parser recurses on both).
// Brackets inside string literals and comments do not count.
func checkShape(f *Field) *CompileError {
	src := f.Expr
	depth, run := 0, 0        // bracket depth; prefix operators in a row
	line, col, off := 1, 0, 0 // before src[i]: col and off count runes
	fail := func(what string) *CompileError {
		return &CompileError{Field: f.Name, Key: "expr", Line: line, Column: col + 1, Offset: off,
			Message: fmt.Sprintf("%s nest deeper than %d levels", what, MaxNesting)}
	}
	var quote rune // the open string literal's quote, or 0
	escaped := false
	comment := "" // the open comment's end ("\n" or "*/"), or ""
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case comment != "":
			if strings.HasPrefix(src[i:], comment) && comment == "*/" {
				size = 2
				comment = ""
			} else if r == '\n' && comment == "\n" {
				comment = ""
			}
		case quote != 0:
			switch {
			case escaped:
				escaped = false
			case r == '\\' && quote != '`':
				escaped = true
			case r == quote:
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote, run = r, 0
		case strings.HasPrefix(src[i:], "//"):
			comment = "\n"
		case strings.HasPrefix(src[i:], "/*"):
			comment, size = "*/", 2
		case r == '(' || r == '[' || r == '{':
			if depth++; depth > MaxNesting {
				return fail("brackets")
			}
			run = 0
		case r == ')' || r == ']' || r == '}':
			depth, run = max(depth-1, 0), 0
		case r == '!' || r == '-' || r == '+' || r == '~' || isWord(src, i, "not"):
			if run++; run > MaxNesting {
				return fail("prefix operators")
			}
			if r == 'n' {
				size = 3
			}
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
		default:
			run = 0
		}
		// Advance past the size bytes consumed, keeping the position.
		for _, c := range src[i : i+size] {
			off++
			if c == '\n' {
				line, col = line+1, 0
			} else {
				col++
			}
		}
		i += size
	}
	if len(src) > MaxExprBytes {
		return &CompileError{Field: f.Name, Key: "expr", Line: 1, Column: 1,
			Message: fmt.Sprintf("the expression is %d bytes; at most %d", len(src), MaxExprBytes)}
	}
	return nil
}

// isWord reports whether src has the keyword w at i, not part of a longer name.
func isWord(src string, i int, w string) bool {
	return strings.HasPrefix(src[i:], w) && (i+len(w) == len(src) || !isIdent(src[i+len(w)])) && (i == 0 || !isIdent(src[i-1]))
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
