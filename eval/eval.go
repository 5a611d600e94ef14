package eval

import (
	"github.com/aws/aws-lambda-go/events"
)

// Kind is a DynamoDB-representable value kind. The zero value means "any".
type Kind int

const (
	String Kind = iota + 1
	Number
	Bool
	List
	Map
)

// Field is one attribute to compute: an expression (Expr != "") or a literal Value.
type Field struct {
	Name       string
	Expr       string
	Value      any
	Required   bool
	Default    any
	HasDefault bool
	Type       Kind
}

// Options bound compilation and evaluation. The zero value is the default.
type Options struct {
	// Env is what expressions see as env.NAME (only allowlisted variables).
	Env map[string]string
}

// Program is a compiled set of fields. A Program is safe for concurrent use.
type Program struct{}

// CompileError is a problem in one field's expression, positioned inside the
// expression's own text (1-based Line and Column).
type CompileError struct {
	Field   string
	Line    int
	Column  int
	Message string
	Snippet string
}

func (e *CompileError) Error() string { return e.Field + ": " + e.Message }

// Refusal says a connection's fields could not be computed: which field and why.
type Refusal struct {
	Field  string
	Reason string
}

func (r *Refusal) Error() string { return "field " + r.Field + ": " + r.Reason }

// Compile compiles every expression once. Errors are all returned (errors.Join of *CompileError).
func Compile(fields []Field, opts Options) (*Program, error) { return &Program{}, nil }

// Evaluate computes the attribute map for a connect event (plain Go values:
// string, float64/int, bool, []any, map[string]any; nil results are omitted).
// A failure is a *Refusal.
func (p *Program) Evaluate(req *events.APIGatewayWebsocketProxyRequest) (map[string]any, error) {
	return nil, nil
}
