package eval

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Compile validates and compiles every field once: it is the one place a
// field's rules are checked (name, reserved names, kinds, literal values,
// expressions). Errors are all returned (errors.Join of *CompileError,
// each naming the field and the key it is about).
//
// Compilation runs in steps, one method of compiler each:
//
//  1. newCompiler: the typed environments and the expr options (see env.go);
//  2. per field, checkField: the name and the keys' combination (and
//     checkIndex: an index field's name and shards);
//  3. literal or expression: the literal's value, or the expression
//     checked (check), compiled to run (compileRun), analyzed for what it
//     reads (analyze) and its static kind (staticKind), and refused when
//     it is constant and always fails (constant);
//  4. checkShardAttrs: no field named like a sharded field's key attribute;
//  5. program: the Program, when there was no error.
func Compile(fields []Field, opts Options) (*Program, error) {
	c := newCompiler(fields, opts)
	for i := range fields {
		c.field(&fields[i])
	}
	c.checkShardAttrs(fields)
	return c.program()
}

// compiler holds what compiling one set of fields shares.
type compiler struct {
	p         *Program
	maxNodes  uint
	checkOpts []expr.Option // against envT: what is checked and analyzed
	runT      types.Map     // the nil-safe environment programs run against
	seen      map[string]bool
	errs      []error
	// literalBytes is the size of the literal fields so far.
	literalBytes int
}

func newCompiler(fields []Field, opts Options) *compiler {
	c := &compiler{
		maxNodes: cmpOr(opts.MaxNodes, DefaultMaxNodes),
		seen:     make(map[string]bool, len(fields)),
	}
	c.p = &Program{
		fields: make([]compiled, 0, len(fields)),
		env:    make(map[string]any, len(opts.Env)),
		budget: cmpOr(opts.MemoryBudget, DefaultMemoryBudget),
		log:    opts.Logger,
	}
	known := make(map[string]bool, len(opts.Env)+len(opts.EnvNames))
	for _, k := range opts.EnvNames {
		known[k] = true
	}
	for k, v := range opts.Env {
		c.p.env[k] = v
		known[k] = true
	}
	// Programs are checked against envT, where query, header and env values
	// are strings, so `query.a + 1` or `type: number` over `query.age` are
	// load errors. But a missing key or an unset env variable gives nil at
	// run time, and a program compiled against string-typed values uses
	// string-only operations that fail on nil (`query.room == ""` would be an
	// evaluation error, not false). So the program that runs is compiled
	// again against runT, where those values are of any type and every
	// operation is nil-safe, and where every string-building operation is
	// bounded (see limits.go).
	envT := envType(known)
	c.checkOpts = []expr.Option{expr.Env(envT), expr.MaxNodes(c.maxNodes)}
	c.runT = runEnvType(envT)
	return c
}

func cmpOr(v, def uint) uint {
	if v == 0 {
		return def
	}
	return v
}

func (c *compiler) fail(f *Field, key, format string, args ...any) {
	c.errs = append(c.errs, &CompileError{Field: f.Name, Key: key, Message: fmt.Sprintf(format, args...)})
}

// failValue reports a literal value or default that cannot be stored, at
// the element the problem is about.
func (c *compiler) failValue(f *Field, key string, err error) {
	ce := &CompileError{Field: f.Name, Key: key, Message: err.Error()}
	var ve *valueError
	if errors.As(err, &ve) {
		ce.Path, ce.Message = ve.path, ve.msg
	}
	c.errs = append(c.errs, ce)
}

// field compiles one field into c.p, or records why it cannot.
func (c *compiler) field(f *Field) {
	c.checkField(f)
	out := compiled{name: f.Name, required: f.Required, kind: f.Type, nonEmpty: f.Index}
	defKind := c.defaultValue(f, &out)
	if f.Expr == "" {
		c.literal(f, &out)
		c.p.fields = append(c.p.fields, out)
		return
	}
	if c.expression(f, &out, defKind) {
		c.p.exprs++
		c.p.fields = append(c.p.fields, out)
	}
}

// checkField checks the name and the combination of the field's keys.
func (c *compiler) checkField(f *Field) {
	switch {
	case f.Name == "":
		c.fail(f, "", "a field name must not be empty")
	case len(f.Name) > MaxNameLen:
		c.fail(f, "", "a field name must be at most %d bytes (it is %d)", MaxNameLen, len(f.Name))
	case IsReserved(f.Name):
		c.fail(f, "", "%s is reserved: lawcket writes it itself", f.Name)
	case c.seen[f.Name]:
		c.fail(f, "", "field %s is defined twice", f.Name)
	}
	c.seen[f.Name] = true
	if f.Type < 0 || f.Type > Map {
		c.fail(f, "type", "unknown type %d", int(f.Type))
	}
	c.checkIndex(f)
	if f.Index && f.Type != 0 && f.Type != String && f.Type != Number {
		c.fail(f, "type", "an index key must be a string or a number, not a %s", f.Type)
	}
	if f.Expr != "" {
		if f.Required && f.HasDefault {
			c.fail(f, "", "required and default together: the default would always apply, so required could never refuse")
		}
		return
	}
	if f.Required {
		c.fail(f, "required", "required applies to expr fields only")
	}
	if f.HasDefault {
		c.fail(f, "default", "default applies to expr fields only")
	}
}

// defaultValue normalizes and checks the default, if any, and returns its kind.
func (c *compiler) defaultValue(f *Field, out *compiled) Kind {
	if !f.HasDefault {
		return 0
	}
	v, k, err := normalize(f.Default)
	switch {
	case err != nil:
		c.failValue(f, "default", err)
	case v == nil:
		c.fail(f, "default", "a default must not be null")
	case f.Type != 0 && k != f.Type:
		c.fail(f, "default", "the default is a %s, but type is %s", k, f.Type)
	case f.Index && v == "":
		c.fail(f, "default", "an index key must not be an empty string")
	}
	out.def, out.hasDef = v, true
	return k
}

// literal normalizes and checks a literal value.
func (c *compiler) literal(f *Field, out *compiled) {
	v, k, err := normalize(f.Value)
	switch {
	case err != nil:
		c.failValue(f, "value", err)
	case v == nil:
		c.fail(f, "value", "a literal must not be null: leave the field out instead")
	case f.Type != 0 && k != f.Type:
		c.fail(f, "value", "the value is a %s, but type is %s", k, f.Type)
	case f.Index && v == "":
		c.fail(f, "value", "an index key must not be an empty string")
	case f.Index && k != String && k != Number:
		c.fail(f, "value", "an index key must be a string or a number, not a %s", k)
	}
	out.value = v
	if out.kind == 0 {
		out.kind = k
	}
	if err == nil && v != nil {
		size := len(f.Name) + valueSize(v)
		c.literalBytes += size
		switch {
		case size > MaxStringBytes:
			c.fail(f, "value", "the value takes %d bytes; a row holds at most %d (DynamoDB's 400 KB item limit)", size, MaxStringBytes)
		case c.literalBytes > MaxStringBytes && c.literalBytes-size <= MaxStringBytes:
			c.fail(f, "value", "the literals take more than %d bytes together (DynamoDB's 400 KB item limit)", MaxStringBytes)
		}
	}
}

// expression checks and compiles f.Expr, reporting false when it cannot run.
func (c *compiler) expression(f *Field, out *compiled, defKind Kind) bool {
	if ce := checkShape(f); ce != nil {
		c.errs = append(c.errs, ce)
		return false
	}
	checked, err := expr.Compile(f.Expr, c.checkOpts...)
	if err != nil {
		c.errs = append(c.errs, exprError(f, err))
		return false
	}
	run, err := c.compileRun(f)
	if err != nil { // the checked program compiled, so this is lawcket's bug
		c.errs = append(c.errs, exprError(f, err))
		return false
	}
	u, upper := analyze(checked.Node())
	for _, n := range upper {
		fe := (&file.Error{Location: n.Location(), Message: fmt.Sprintf("header names are lower-cased: use %q", strings.ToLower(n.Value))}).Bind(checked.Source())
		c.errs = append(c.errs, fromFileError(f, fe))
	}
	if c.kinds(f, out, checked, defKind) && len(upper) == 0 && u.constant(c.p.env) {
		c.constant(f, run, &u)
	}
	for j := range u {
		c.p.uses[j].merge(u[j])
	}
	out.prog = run
	return true
}

// compileRun compiles the program that runs: against runT, bounded (see
// limits.go).
func (c *compiler) compileRun(f *Field) (*vm.Program, error) {
	lim := &limiter{}
	opts := slices.Concat([]expr.Option{expr.Env(c.runT), expr.MaxNodes(c.maxNodes)}, lim.options())
	run, err := expr.Compile(f.Expr, opts...)
	if err != nil {
		return nil, err
	}
	if lim.err != nil {
		return nil, lim.err.Bind(run.Source())
	}
	return run, nil
}

// kinds checks the expression's static kind against Type, the index key
// rules and the default, and sets the field's kind. It reports whether
// there was no problem.
func (c *compiler) kinds(f *Field, out *compiled, checked *vm.Program, defKind Kind) bool {
	n := len(c.errs)
	k, known, err := staticKind(checked.Node().Type())
	switch {
	case err != nil:
		c.fail(f, "expr", "%v", err)
	case known && f.Type != 0 && k != f.Type:
		c.fail(f, "expr", "type is %s, but the expression gives a %s", f.Type, k)
	case f.Index && known && f.Type == 0 && k != String && k != Number:
		c.fail(f, "expr", "an index key must be a string or a number, but the expression gives a %s", k)
	case f.Index && f.Type == 0 && known:
		out.kind = k
	case f.Index && f.Type == 0:
		out.kind = String
	}
	if out.hasDef && f.Type == 0 && out.kind != 0 && defKind != 0 && defKind != out.kind {
		c.fail(f, "default", "the default is a %s, but the index key is a %s", defKind, out.kind)
	}
	return len(c.errs) == n
}

// constant runs an expression that reads nothing of the event once, within
// the evaluation budgets: one that fails would fail on every connect, so
// it is refused now.
func (c *compiler) constant(f *Field, run *vm.Program, u *usages) {
	var b bounds
	b.reset()
	m := vm.VM{MemoryBudget: c.p.budget}
	env := newState().fill(u, &events.APIGatewayWebsocketProxyRequest{}, c.p.env)
	env[nameBounds] = &b
	v, err := m.Run(run, env)
	if err == nil {
		_, _, err = normalize(v)
	}
	if err == nil {
		return
	}
	msg := err.Error()
	if isLimit(err) {
		msg = limitReason(err)
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	c.fail(f, "expr", "the expression reads nothing of the connection and always fails: %s", msg)
}

// program returns the compiled Program, or every error found.
func (c *compiler) program() (*Program, error) {
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	p := c.p
	p.pool.New = func() any { return &runner{vm: vm.VM{MemoryBudget: p.budget}, st: newState()} }
	return p, nil
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
