package eval

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Kind is a DynamoDB-representable value kind. The zero value means "any".
type Kind int

// The value kinds a field can declare with type:.
const (
	String Kind = iota + 1
	Number
	Bool
	List
	Map
)

// Field is one attribute to compute: an expression (Expr != "") or a literal Value.
type Field struct {
	// Name is the attribute name. It must be a valid DynamoDB attribute
	// name (1 to 255 bytes) and not a reserved one (see IsReserved).
	Name string
	// Expr is an expr-lang expression over the environment (see Names).
	// When empty, the field is the literal Value.
	Expr string
	// Value is the literal value of a field without Expr: a string, a
	// number, a bool, or a list or map of those (nil only inside them).
	Value any
	// Required refuses the connection when Expr gives nil or fails.
	Required bool
	// Default is used when Expr gives nil, fails, or gives the wrong kind;
	// HasDefault says it is set.
	Default    any
	HasDefault bool
	// Type, when set, is the kind the value must have: checked at compile
	// time where the expression's type is known, else per connection.
	Type Kind
	// IndexKey marks the key of a secondary index (index: true). DynamoDB
	// accepts only a non-empty string or a number there, so an empty
	// string counts as nil, and the kind must be String or Number: when
	// Type is unset it becomes the expression's static kind if known, else
	// String (see Program.Kind).
	IndexKey bool
}

// Default bounds, used where Options leaves them zero.
const (
	DefaultMaxNodes     = 1000
	DefaultMemoryBudget = 100_000
)

// Options bound compilation and evaluation. The zero value is the default.
type Options struct {
	// Env is what expressions see as env.NAME (only allowlisted variables).
	Env map[string]string
	// EnvNames are further allowlisted names that may be unset: known to
	// the compiler, nil when evaluated. Any name in neither Env nor
	// EnvNames is a compile error.
	EnvNames []string
	// MaxNodes bounds the size of each expression (expr.MaxNodes);
	// zero means DefaultMaxNodes.
	MaxNodes uint
	// MemoryBudget bounds what one evaluation may allocate in expr's
	// virtual machine (vm.VM.MemoryBudget); zero means DefaultMemoryBudget.
	MemoryBudget uint
}

// reserved attributes are written by lawcket itself.
var reserved = [...]string{"connectionId", "domainName", "stage", "connectedAt", "expiresAt"}

// IsReserved reports whether name is an attribute lawcket writes itself
// (connectionId, domainName, stage, connectedAt, expiresAt), which a field
// may not use.
func IsReserved(name string) bool {
	for _, r := range reserved {
		if name == r {
			return true
		}
	}
	return false
}

// MaxNameLen is the longest attribute name accepted, in bytes.
const MaxNameLen = 255

// compiled is one field of a Program.
type compiled struct {
	name     string
	prog     *vm.Program // nil for a literal
	value    any         // the literal, normalized
	required bool
	def      any
	hasDef   bool
	kind     Kind
	nonEmpty bool
}

// Program is a compiled set of fields. A Program is safe for concurrent use.
type Program struct {
	fields []compiled
	exprs  int
	env    map[string]any
	uses   usages
	flats  []flatName // flattened accesses the environment provides
	budget uint
	pool   sync.Pool // of *runner
}

// runner is the per-goroutine part of an evaluation: a vm.VM (not safe for
// concurrent use) and the environment maps, reused through Program.pool.
type runner struct {
	vm vm.VM
	st *state
}

// CompileError is a problem in one field's expression, positioned inside the
// expression's own text (1-based Line and Column).
type CompileError struct {
	Field string
	// Key is the field's key the problem is about: "expr", "value",
	// "default", "type", or "" for the field (its name) itself.
	Key string
	// Line and Column are 1-based positions inside Expr, and Offset the
	// 0-based rune offset; all zero when the problem is not in Expr.
	Line    int
	Column  int
	Offset  int
	Message string
	// Snippet is expr's caret snippet (" | text\n | ...^"), or "".
	Snippet string
}

// Error formats the problem as FIELD.KEY:LINE:COLUMN: message (the
// position only for expression errors), followed by the snippet.
func (e *CompileError) Error() string {
	s := e.Field
	if e.Key != "" {
		s += "." + e.Key
	}
	if e.Line > 0 {
		s += fmt.Sprintf(":%d:%d", e.Line, e.Column)
	}
	s += ": " + e.Message
	if e.Snippet != "" {
		s += "\n" + e.Snippet
	}
	return s
}

// Refusal says a connection's fields could not be computed: which field and why.
type Refusal struct {
	Field  string
	Reason string
	// Err is the underlying evaluation error, if any. It may quote the
	// expression and event data: log it, do not send it to the client.
	Err error
}

// Error says "field NAME: reason".
func (r *Refusal) Error() string { return "field " + r.Field + ": " + r.Reason }

// Unwrap returns the underlying evaluation error.
func (r *Refusal) Unwrap() error { return r.Err }

// Compile compiles every expression once. Errors are all returned (errors.Join of *CompileError).
func Compile(fields []Field, opts Options) (*Program, error) {
	maxNodes := opts.MaxNodes
	if maxNodes == 0 {
		maxNodes = DefaultMaxNodes
	}
	p := &Program{
		fields: make([]compiled, 0, len(fields)),
		env:    make(map[string]any, len(opts.Env)),
		budget: opts.MemoryBudget,
	}
	if p.budget == 0 {
		p.budget = DefaultMemoryBudget
	}
	known := make(map[string]bool, len(opts.Env)+len(opts.EnvNames))
	for _, k := range opts.EnvNames {
		known[k] = true
	}
	for k, v := range opts.Env {
		p.env[k] = v
		known[k] = true
	}
	envT := envType(known)
	exprOpts := []expr.Option{expr.Env(envT), expr.MaxNodes(maxNodes)}
	// Programs are checked against envT, where query, header and env values
	// are strings, so `query.a + 1` or `type: number` over `query.age` are
	// load errors. But a missing key or an unset env variable gives nil at
	// run time, and a program compiled against string-typed values uses
	// string-only operations that fail on nil (`query.room == ""` would be an
	// evaluation error, not false). So the program that runs is compiled
	// again against runT, where those values are of any type and every
	// operation is nil-safe.
	runT := runEnvType(envT)
	runOpts := []expr.Option{expr.Env(runT), expr.MaxNodes(maxNodes)}

	// $env shows the whole environment, flattened names included: a
	// program that uses it anywhere is not flattened.
	flat := flatten
	for i := range fields {
		flat = flat && !strings.Contains(fields[i].Expr, "$env")
	}

	var errs []error
	fail := func(f *Field, key, format string, args ...any) {
		errs = append(errs, &CompileError{Field: f.Name, Key: key, Message: fmt.Sprintf(format, args...)})
	}
	seen := make(map[string]bool, len(fields))
	for i := range fields {
		f := &fields[i]
		switch {
		case f.Name == "":
			fail(f, "", "a field name must not be empty")
		case len(f.Name) > MaxNameLen:
			fail(f, "", "a field name must be at most %d bytes (it is %d)", MaxNameLen, len(f.Name))
		case IsReserved(f.Name):
			fail(f, "", "%s is reserved: lawcket writes it itself", f.Name)
		case seen[f.Name]:
			fail(f, "", "field %s is defined twice", f.Name)
		}
		seen[f.Name] = true
		if f.Type < 0 || f.Type > Map {
			fail(f, "type", "unknown type %d", int(f.Type))
		}
		if f.IndexKey && f.Type != 0 && f.Type != String && f.Type != Number {
			fail(f, "type", "an index key must be a string or a number, not a %s", f.Type)
		}
		c := compiled{name: f.Name, required: f.Required, kind: f.Type, nonEmpty: f.IndexKey}
		var defKind Kind
		if f.HasDefault {
			v, k, err := normalize(f.Default)
			switch {
			case err != nil:
				fail(f, "default", "%v", err)
			case v == nil:
				fail(f, "default", "a default must not be null")
			case f.Type != 0 && k != f.Type:
				fail(f, "default", "the default is a %s, but type is %s", k, f.Type)
			case f.IndexKey && v == "":
				fail(f, "default", "an index key must not be an empty string")
			}
			c.def, c.hasDef, defKind = v, true, k
		}
		if f.Expr == "" {
			v, k, err := normalize(f.Value)
			switch {
			case err != nil:
				fail(f, "value", "%v", err)
			case v == nil:
				fail(f, "value", "a literal must not be null: leave the field out instead")
			case f.Type != 0 && k != f.Type:
				fail(f, "value", "the value is a %s, but type is %s", k, f.Type)
			case f.IndexKey && v == "":
				fail(f, "value", "an index key must not be an empty string")
			case f.IndexKey && k != String && k != Number:
				fail(f, "value", "an index key must be a string or a number, not a %s", k)
			}
			c.value = v
			if c.kind == 0 {
				c.kind = k
			}
			p.fields = append(p.fields, c)
			continue
		}
		prog, err := expr.Compile(f.Expr, exprOpts...)
		if err != nil {
			errs = append(errs, exprError(f, err))
			continue
		}
		compileOpts, flats := runOpts, []flatName(nil)
		if flat {
			if tree, err := parser.Parse(f.Expr); err == nil {
				if o, cands := planFlat(tree.Node, runT, maxNodes); o != nil {
					compileOpts, flats = o, cands
				}
			}
		}
		run, err := expr.Compile(f.Expr, compileOpts...)
		if err != nil { // the checked program compiled, so this is lawcket's bug
			errs = append(errs, exprError(f, err))
			continue
		}
		u, upper := analyze(prog.Node())
		for _, n := range upper {
			loc := n.Location()
			fe := (&file.Error{Location: loc, Message: fmt.Sprintf("header names are lower-cased: use %q", strings.ToLower(n.Value))}).Bind(prog.Source())
			errs = append(errs, fromFileError(f, fe))
		}
		k, known, err := staticKind(prog.Node().Type())
		switch {
		case err != nil:
			fail(f, "expr", "%v", err)
		case known && f.Type != 0 && k != f.Type:
			fail(f, "expr", "type is %s, but the expression gives a %s", f.Type, k)
		case f.IndexKey && known && f.Type == 0 && k != String && k != Number:
			fail(f, "expr", "an index key must be a string or a number, but the expression gives a %s", k)
		case f.IndexKey && f.Type == 0 && known:
			c.kind = k
		case f.IndexKey && f.Type == 0:
			c.kind = String
		}
		if c.hasDef && f.Type == 0 && c.kind != 0 && defKind != 0 && defKind != c.kind {
			fail(f, "default", "the default is a %s, but the index key is a %s", defKind, c.kind)
		}
		for j := range u {
			p.uses[j].merge(u[j])
		}
		c.prog = run
		p.addFlats(flats)
		p.exprs++
		p.fields = append(p.fields, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.pool.New = func() any { return &runner{vm: vm.VM{MemoryBudget: p.budget}, st: newState()} }
	return p, nil
}

func (p *Program) addFlats(fs []flatName) {
	for _, f := range fs {
		dup := false
		for _, g := range p.flats {
			dup = dup || g.name == f.name
		}
		if !dup {
			p.flats = append(p.flats, f)
		}
	}
}

// Kind returns the kind of the named field's values: its Type, the kind of
// its literal, or for an index key the kind chosen at compile time; zero
// when the kind is only known per connection (or there is no such field).
func (p *Program) Kind(name string) Kind {
	for i := range p.fields {
		if p.fields[i].name == name {
			return p.fields[i].kind
		}
	}
	return 0
}

// exprError turns an expr compile error into a *CompileError positioned in
// the expression, with friendlier messages for the environment's names.
func exprError(f *Field, err error) *CompileError {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &CompileError{Field: f.Name, Key: "expr", Message: err.Error()}
	}
	ce := fromFileError(f, fe)
	src := []rune(f.Expr)
	if strings.HasPrefix(fe.Message, "unknown field ") && fe.From >= 4 && fe.From <= len(src) &&
		strings.HasSuffix(strings.TrimRight(string(src[:fe.From]), " \t\n[.?\"'`"), nameEnv) {
		ce.Message = fmt.Sprintf("env.%s is not allowlisted (add it to env:)", strings.TrimPrefix(fe.Message, "unknown field "))
	} else if name, ok := strings.CutPrefix(fe.Message, "unknown field "); ok {
		for _, k := range slices.Concat(requestContextKeys, []string{"sourceIp", "userAgent"}) {
			if strings.EqualFold(k, name) {
				ce.Message += fmt.Sprintf(" (did you mean %s?)", k)
				break
			}
		}
	}
	return ce
}

func fromFileError(f *Field, fe *file.Error) *CompileError {
	snippet := strings.TrimPrefix(fe.Snippet, "\n")
	line := fe.Line
	if line == 0 {
		line = 1
	}
	return &CompileError{
		Field:   f.Name,
		Key:     "expr",
		Line:    line,
		Column:  fe.Column + 1,
		Offset:  fe.From,
		Message: fe.Message,
		Snippet: snippet,
	}
}

// Evaluate computes the attribute map for a connect event (plain Go values:
// string, float64/int, bool, []any, map[string]any; nil results are omitted).
// A failure is a *Refusal.
//
// One environment is built from req and every field evaluated against it.
// Literal values (and defaults) in the result are shared between calls and
// must not be modified; computed lists and maps are fresh copies.
func (p *Program) Evaluate(req *events.APIGatewayWebsocketProxyRequest) (map[string]any, error) {
	out := make(map[string]any, len(p.fields))
	if p.exprs == 0 {
		for i := range p.fields {
			out[p.fields[i].name] = p.fields[i].value
		}
		return out, nil
	}
	if req == nil {
		req = &events.APIGatewayWebsocketProxyRequest{}
	}
	r := p.pool.Get().(*runner)
	defer func() {
		clear(r.st.env) // drop this connection's data before reuse
		p.pool.Put(r)
	}()
	env := r.st.fill(&p.uses, req, p.env, p.flats)
	for i := range p.fields {
		f := &p.fields[i]
		if f.prog == nil {
			out[f.name] = f.value
			continue
		}
		v, err := r.vm.Run(f.prog, env)
		var kind Kind
		wrongKind := false
		if err == nil {
			v, kind, err = normalize(v)
			if err != nil {
				wrongKind = true
			} else if v != nil && f.kind != 0 && kind != f.kind {
				wrongKind = true
				err = fmt.Errorf("type is %s, but the expression gave a %s", f.kind, kind)
			} else if f.nonEmpty && kind == String && v == "" {
				v = nil
			}
		}
		switch {
		case err == nil && v != nil:
			out[f.name] = v
		case f.hasDef:
			out[f.name] = f.def
		case wrongKind:
			return nil, &Refusal{Field: f.name, Reason: err.Error(), Err: err}
		case f.required && err != nil:
			return nil, &Refusal{Field: f.name, Reason: "required, but its expression failed", Err: err}
		case f.required:
			return nil, &Refusal{Field: f.name, Reason: "required, but its expression gave nil"}
		}
	}
	return out, nil
}
