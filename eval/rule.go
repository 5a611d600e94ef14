package eval

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	exprtypes "github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// The names a channel rule sees (see CompileRule).
const (
	RuleConnection = "connection"
	RuleAuthorizer = "authorizer"
	RuleChannel    = "channel"
	RuleEnv        = nameEnv
)

// RuleNames lists the names a rule can use besides expr's builtins.
func RuleNames() []string {
	return []string{RuleConnection, RuleAuthorizer, RuleChannel, RuleEnv}
}

// RuleOptions say what a rule's environment holds. The zero value is a rule
// over no connection fields and no env variables.
type RuleOptions struct {
	// Fields are the attribute names of a connection's row (the spec's
	// fields and the reserved attributes): connection.NAME of any other
	// name is a compile error.
	Fields []string
	// Env and EnvNames are as in Options: the env: allowlist.
	Env      map[string]string
	EnvNames []string
	// MaxNodes and MemoryBudget are as in Options (zero: the defaults).
	MaxNodes     uint
	MemoryBudget uint
}

// Rule is a compiled boolean expression over a connection, its authorizer
// context and a channel (a channels: rule of lawcket.yaml). A Rule is safe
// for concurrent use.
type Rule struct {
	src            string
	prog           *vm.Program
	env            map[string]any // env values, read once at compile
	usesConnection bool
	budget         uint
	pool           sync.Pool // of *vm.VM
}

// RuleInput is what one evaluation of a rule sees.
type RuleInput struct {
	// Connection is the connection's row (attribute name to plain Go
	// value, as attributevalue.UnmarshalMap gives it); nil when the rule
	// does not read it (see Rule.UsesConnection).
	Connection map[string]any
	// Authorizer is requestContext.authorizer of the event (nil: none).
	Authorizer map[string]any
	// Path is the channel's path, e.g. /rooms/lobby or /news/*.
	Path string
	// Segments are the path's segments, the namespace first: [rooms lobby].
	Segments []string
}

// CompileRule compiles a rule once. The expression must give a bool; it
// sees:
//
//   - connection: the connection's row (connection.user, connection.connectionId, …);
//     an attribute the row lacks gives nil.
//   - authorizer: requestContext.authorizer (values may be stringified
//     by API Gateway); a missing key gives nil.
//   - channel: path (string), namespace (string), segments (list of strings,
//     the namespace first).
//   - env: the allowlisted variables only.
//
// A problem is a *CompileError (Field is "", Key "expr") positioned in src.
func CompileRule(src string, opts RuleOptions) (*Rule, error) {
	if src == "" {
		return nil, &CompileError{Key: "expr", Message: "the rule is empty"}
	}
	maxNodes := opts.MaxNodes
	if maxNodes == 0 {
		maxNodes = DefaultMaxNodes
	}
	conn := exprtypes.Map{}
	for _, f := range slices.Concat(opts.Fields, reserved[:]) {
		conn[f] = exprtypes.Any
	}
	envT := exprtypes.Map{}
	env := make(map[string]any, len(opts.Env)+len(opts.EnvNames))
	for _, n := range opts.EnvNames {
		envT[n] = exprtypes.Any
		env[n] = nil
	}
	for k, v := range opts.Env {
		envT[k] = exprtypes.Any
		env[k] = v
	}
	envType := exprtypes.Map{
		RuleConnection: conn,
		RuleAuthorizer: exprtypes.Map{exprtypes.Extra: exprtypes.Any},
		RuleChannel: exprtypes.Map{
			"path":      exprtypes.String,
			"namespace": exprtypes.String,
			"segments":  exprtypes.Array(exprtypes.String),
		},
		RuleEnv: envT,
	}
	prog, err := expr.Compile(src, expr.Env(envType), expr.AsBool(), expr.MaxNodes(maxNodes))
	if err != nil {
		return nil, exprError(&Field{Expr: src}, err)
	}
	r := &Rule{src: src, prog: prog, env: env, budget: opts.MemoryBudget}
	if r.budget == 0 {
		r.budget = DefaultMemoryBudget
	}
	r.usesConnection = usesName(prog, RuleConnection)
	r.pool.New = func() any { return &vm.VM{MemoryBudget: r.budget} }
	return r, nil
}

// usesName reports whether the program reads the top-level name (or the
// whole environment through $env).
func usesName(prog *vm.Program, name string) bool {
	v := &identFinder{name: name}
	node := prog.Node()
	ast.Walk(&node, v)
	return v.found
}

type identFinder struct {
	name  string
	found bool
}

func (v *identFinder) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && (id.Value == v.name || id.Value == "$env") {
		v.found = true
	}
}

// Source returns the rule's expression.
func (r *Rule) Source() string { return r.src }

// UsesConnection reports whether the rule reads connection (so the caller
// must read the connection's row for it).
func (r *Rule) UsesConnection() bool { return r.usesConnection }

// Allow evaluates the rule. An evaluation that fails (a nil where a value
// was needed, the memory budget) is an error, which callers treat as a
// denial.
func (r *Rule) Allow(in RuleInput) (bool, error) {
	conn := in.Connection
	if conn == nil {
		conn = map[string]any{}
	}
	auth := in.Authorizer
	if auth == nil {
		auth = map[string]any{}
	}
	ns := ""
	if len(in.Segments) > 0 {
		ns = in.Segments[0]
	}
	segs := make([]any, len(in.Segments))
	for i, s := range in.Segments {
		segs[i] = s
	}
	env := map[string]any{
		RuleConnection: conn,
		RuleAuthorizer: auth,
		RuleChannel:    map[string]any{"path": in.Path, "namespace": ns, "segments": segs},
		RuleEnv:        maps.Clone(r.env),
	}
	machine := r.pool.Get().(*vm.VM)
	defer r.pool.Put(machine)
	v, err := machine.Run(r.prog, env)
	if err != nil {
		return false, fmt.Errorf("eval: rule %q: %w", r.src, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, errors.New("eval: rule did not give a bool")
	}
	return b, nil
}
