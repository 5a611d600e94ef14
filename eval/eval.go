package eval

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"
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
	// Required refuses the connection when Expr gives nil or fails. It
	// applies to expressions only.
	Required bool
	// Default is used when Expr gives nil, fails, or gives the wrong kind;
	// HasDefault says it is set. It applies to expressions only, and not
	// together with Required.
	Default    any
	HasDefault bool
	// Type, when set, is the kind the value must have: checked at compile
	// time where the expression's type is known, else per connection.
	Type Kind
	// Index marks the key of a secondary index (index: true): broadcast
	// can select connections by this field. DynamoDB accepts only a
	// non-empty string or a number there, so an empty string counts as
	// nil, and the kind must be String or Number: when Type is unset it
	// becomes the expression's static kind if known, else String (see
	// Program.Kind).
	Index bool
	// Shards write-shards an index field over that many GSI partitions (2
	// to MaxShards; 0: unsharded, one partition per value): the row keeps
	// the field's plain value, and its GSI key is the separate attribute
	// ShardAttr(Name), "VALUE#k" with k the connection's shard (see
	// package dynamo). It applies to index fields only.
	Shards int
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
	// MemoryBudget bounds what one expression's run may allocate in expr's
	// virtual machine (vm.VM.MemoryBudget: ranges, arrays and maps); zero
	// means DefaultMemoryBudget. Strings and loop steps have their own
	// budgets per evaluation (MaxStringBytes, MaxSteps).
	MemoryBudget uint
	// Logger receives one record per optional field that Evaluate omits
	// because its expression failed (Warn when it hit a limit, Debug
	// otherwise). Nil means slog.Default() at the time of the record.
	Logger *slog.Logger
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
	budget uint
	log    *slog.Logger
	pool   sync.Pool // of *runner
}

// runner is the per-goroutine part of an evaluation: a vm.VM (not safe for
// concurrent use), the environment maps and the evaluation's budgets,
// reused through Program.pool.
type runner struct {
	vm     vm.VM
	st     *state
	bounds bounds
}

// CompileError is a problem in one field, with the key it is about and,
// for an expression, its position inside the expression's own text
// (1-based Line and Column).
type CompileError struct {
	Field string
	// Key is the field's key the problem is about: "expr", "value",
	// "default", "type", "required", "index", "shards", or "" for the field (its
	// name) itself.
	Key string
	// Path locates a problem inside a literal Value or Default: list
	// indices (int) and map keys (string), outermost first; nil when the
	// problem is the whole value.
	Path []any
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
	s += FormatPath(e.Path)
	if e.Line > 0 {
		s += fmt.Sprintf(":%d:%d", e.Line, e.Column)
	}
	s += ": " + e.Message
	if e.Snippet != "" {
		s += "\n" + e.Snippet
	}
	return s
}

// FormatPath writes a value path as "[1].key": "[i]" for a list index,
// ".key" for a map key.
func FormatPath(path []any) string {
	s := ""
	for _, p := range path {
		switch p := p.(type) {
		case int:
			s += fmt.Sprintf("[%d]", p)
		default:
			s += fmt.Sprintf(".%v", p)
		}
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

// Evaluate computes the attribute map for a connect event (plain Go values:
// string, float64/int, bool, []any, map[string]any; nil results are omitted).
// A failure is a *Refusal.
//
// One environment is built from req and every field evaluated against it,
// within one set of budgets for the whole evaluation (see MaxStringBytes
// and MaxSteps). Literal values (and defaults) in the result are shared
// between calls and must not be modified; computed lists and maps are
// fresh copies.
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
	env := r.st.fill(&p.uses, req, p.env)
	r.bounds.reset()
	env[nameBounds] = &r.bounds
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
		limit := isLimit(err)
		switch {
		case err == nil && v != nil:
			out[f.name] = v
		case f.hasDef:
			out[f.name] = f.def
		case wrongKind:
			return nil, &Refusal{Field: f.name, Reason: err.Error(), Err: err}
		case f.required && limit:
			return nil, &Refusal{Field: f.name, Reason: "required, but its expression exceeded a limit: " + limitReason(err), Err: err}
		case f.required && err != nil:
			return nil, &Refusal{Field: f.name, Reason: "required, but its expression failed", Err: err}
		case f.required:
			return nil, &Refusal{Field: f.name, Reason: "required, but its expression gave nil"}
		case err != nil:
			p.logOmitted(f.name, req, err, limit)
		}
	}
	return out, nil
}

// logOmitted records an optional field left out because its expression failed.
func (p *Program) logOmitted(field string, req *events.APIGatewayWebsocketProxyRequest, err error, limit bool) {
	level := slog.LevelDebug
	if limit {
		level = slog.LevelWarn
	}
	log := p.log
	if log == nil {
		log = slog.Default()
	}
	ctx := context.Background()
	if !log.Enabled(ctx, level) {
		return
	}
	log.Log(ctx, level, "lawcket: optional field omitted: its expression failed",
		"field", field, "connectionId", req.RequestContext.ConnectionID, "err", err)
}
