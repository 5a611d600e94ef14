package syncspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-viper/mapstructure/v2"
	koanfyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	yaml "go.yaml.in/yaml/v3"

	"github.com/lawcket/lawcket/eval"
)

// Spec is a loaded, validated and compiled lawcket.yaml.
type Spec struct {
	// File is the name the spec was loaded from (used in error positions).
	File string
	// Table is the connections table: table: or LAWCKET_TABLE.
	Table string
	// TTL is ttl: or LAWCKET_TTL; zero means rows do not expire.
	TTL time.Duration
	// Env is the allowlist of process environment variables expressions
	// may read as env.NAME (their values were read once, at load).
	Env []string
	// Fields are the entries of fields:, in file order.
	Fields []Field
	// Program computes the fields for a connection.
	Program *eval.Program
	// Channels is the channels: section (see channels.go); nil without one.
	Channels *Channels
}

// Field is one entry of fields:.
type Field struct {
	eval.Field
	// Index is index: true: broadcast can select connections by this
	// field through a GSI. Its Type is then String or Number.
	Index bool
	// Line and Col are the position of the field's name in File.
	Line int
	Col  int
}

// Environment variables that override the file.
const (
	EnvTable = "LAWCKET_TABLE"
	EnvTTL   = "LAWCKET_TTL"
)

// Option configures Load and Parse.
type Option func(*options)

type options struct {
	lookupEnv func(string) (string, bool)
	eval      eval.Options
}

// WithLookupEnv makes Load and Parse read environment variables
// (LAWCKET_TABLE, LAWCKET_TTL and the env: allowlist) through lookup
// instead of os.LookupEnv, for tests and tools.
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = lookup }
}

// WithEvalOptions sets the compile bounds (MaxNodes, MemoryBudget) passed
// to eval.Compile. Its Env and EnvNames are replaced by the spec's env:.
func WithEvalOptions(opts eval.Options) Option {
	return func(o *options) { o.eval = opts }
}

// Load reads, validates and compiles the spec at path. An invalid spec
// gives Errors listing every problem; a file that cannot be read gives the
// os error (test it with errors.Is(err, fs.ErrNotExist)).
func Load(path string, opts ...Option) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("syncspec: %w", err)
	}
	return Parse(path, data, opts...)
}

// Parse is Load for bytes already read; name is used in error positions.
func Parse(name string, data []byte, opts ...Option) (*Spec, error) {
	o := options{lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	p := newParser(name, data)
	spec := p.parse(&o)
	if len(p.errs) > 0 {
		p.errs.sort()
		return nil, p.errs
	}
	return spec, nil
}

// IndexFields returns the fields with index: true, in file order.
func (s *Spec) IndexFields() []Field {
	var out []Field
	for _, f := range s.Fields {
		if f.Index {
			out = append(out, f)
		}
	}
	return out
}

// Field returns the field with the given name.
func (s *Spec) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Evaluate computes the fields for a connect event: s.Program.Evaluate.
func (s *Spec) Evaluate(req *events.APIGatewayWebsocketProxyRequest) (map[string]any, error) {
	return s.Program.Evaluate(req)
}

var (
	tableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// secretEnv are variables the Lambda runtime sets with credentials: an
// expression could copy them into rows that others can read.
var secretEnv = map[string]bool{
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
}

func checkTable(s string) string {
	if !tableName.MatchString(s) {
		return fmt.Sprintf("invalid table name %q: 3 to 255 letters, digits, '_', '-' or '.'", s)
	}
	return ""
}

func checkTTL(s string) string {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return fmt.Sprintf("invalid duration %q: want a Go duration such as 3h or 90m", s)
	case d <= 0:
		return fmt.Sprintf("invalid duration %q: must be positive", s)
	}
	return ""
}

// topKeys and fieldKeys are the keys the spec allows.
var (
	topKeys   = []string{"table", "ttl", "env", "fields"}
	fieldKeys = []string{"expr", "value", "required", "default", "index", "type"}
)

// parser collects every problem of one spec.
type parser struct {
	file  string
	data  []byte
	lines [][]rune
	errs  Errors
	// envTable says LAWCKET_TABLE is set (valid or not).
	envTable bool
	// literalNodes counts the values of literals so far.
	literalNodes int
	// channels is the channels: section's nodes (channels.go).
	channels *channelNodes
}

func newParser(name string, data []byte) *parser {
	return &parser{file: name, data: data, lines: splitLines(string(data))}
}

// splitLines splits YAML source at its line breaks — LF, CR LF, CR, and
// NEL, LS and PS, as the YAML scanner counts lines — into runes.
func splitLines(s string) [][]rune {
	var lines [][]rune
	var cur []rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\r':
			if i+1 < len(rs) && rs[i+1] == '\n' {
				i++
			}
			fallthrough
		case '\n', '\u0085', '\u2028', '\u2029':
			lines = append(lines, cur)
			cur = nil
			continue
		}
		cur = append(cur, rs[i])
	}
	return append(lines, cur)
}

func (p *parser) errAt(line, col int, path, format string, args ...any) *Error {
	// The YAML parser places some implicit nodes (a missing value at the
	// end of the stream) past the last line: clamp into the file.
	if line > len(p.lines) {
		line, col = len(p.lines), len(p.lines[len(p.lines)-1])+1
	}
	line, col = max(line, 1), max(col, 1)
	e := &Error{File: p.file, Line: line, Col: col, Path: path, Message: fmt.Sprintf(format, args...)}
	p.errs = append(p.errs, e)
	return e
}

func (p *parser) errNode(n *yaml.Node, path, format string, args ...any) *Error {
	return p.errAt(n.Line, n.Column, path, format, args...)
}

// raw is the file's top level as decoded by koanf.
type raw struct {
	Table  string         `koanf:"table"`
	TTL    time.Duration  `koanf:"ttl"`
	Env    []string       `koanf:"env"`
	Fields map[string]any `koanf:"fields"`
	// Channels is checked and compiled from the node tree (channels.go).
	Channels any `koanf:"channels"`
}

func (p *parser) parse(o *options) *Spec {
	// Environment overrides, checked first: a bad value names its variable.
	environ := p.overrides(o.lookupEnv)

	tabs := p.checkTabs()
	root, ok := p.parseYAML(tabs)
	if !ok {
		return nil
	}
	doc := p.document(root)
	if doc == nil {
		return nil
	}
	fields, envNames, hasTable := p.walkTop(doc)

	// koanf merges the file and the environment overrides and decodes the
	// top level strictly. The node walk above has already reported every
	// problem with a position; koanf only runs on a sound file.
	var r raw
	if len(p.errs) == 0 {
		if err := p.koanf(environ, &r); err != nil {
			p.errAt(doc.Line, doc.Column, "", "%v", err)
			return nil
		}
	}
	if !hasTable && !p.envTable {
		p.errNode(doc, "table", "table is required (or set %s)", EnvTable)
	}

	// Compile every field whose structure is sound, even when other parts
	// of the file are wrong, so that expression errors are reported too.
	evalOpts := o.eval
	evalOpts.Env = make(map[string]string, len(envNames))
	evalOpts.EnvNames = envNames
	for _, n := range envNames {
		if v, ok := o.lookupEnv(n); ok {
			evalOpts.Env[n] = v
		}
	}
	prog := p.compile(fields, evalOpts)
	chans := p.compileChannels(fields, evalOpts, r.Table, r.TTL, o.lookupEnv)
	if len(p.errs) > 0 {
		return nil
	}
	spec := &Spec{File: p.file, Table: r.Table, TTL: r.TTL, Env: envNames, Program: prog, Channels: chans}
	for _, f := range fields {
		if f.Index {
			f.Type = prog.Kind(f.Name)
		}
		spec.Fields = append(spec.Fields, f.Field)
	}
	return spec
}

// overrides checks LAWCKET_TABLE and LAWCKET_TTL and returns the valid
// ones as an environment for koanf's env provider. Empty means unset.
func (p *parser) overrides(lookup func(string) (string, bool)) []string {
	var environ []string
	if v, ok := lookup(EnvTable); ok && v != "" {
		p.envTable = true
		if msg := checkTable(v); msg != "" {
			p.errs = append(p.errs, &Error{File: p.file, EnvVar: EnvTable, Message: msg})
		} else {
			environ = append(environ, EnvTable+"="+v)
		}
	}
	if v, ok := lookup(EnvTTL); ok && v != "" {
		if msg := checkTTL(v); msg != "" {
			p.errs = append(p.errs, &Error{File: p.file, EnvVar: EnvTTL, Message: msg})
		} else {
			environ = append(environ, EnvTTL+"="+v)
		}
	}
	return environ
}

func (p *parser) koanf(environ []string, r *raw) error {
	k := koanf.New("\x00") // field names may contain dots
	if err := k.Load(rawbytes.Provider(p.data), koanfyaml.Parser()); err != nil {
		return err
	}
	envProvider := env.Provider("\x00", env.Opt{
		Prefix:        "LAWCKET_",
		EnvironFunc:   func() []string { return environ },
		TransformFunc: func(k, v string) (string, any) { return strings.ToLower(strings.TrimPrefix(k, "LAWCKET_")), v },
	})
	if err := k.Load(envProvider, nil); err != nil {
		return err
	}
	return k.UnmarshalWithConf("", r, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:  mapstructure.StringToTimeDurationHookFunc(),
		ErrorUnused: true,
		// The node walk has checked every value's kind; this lets a
		// table name such as 123 (a YAML int) decode as a string.
		WeaklyTypedInput: true,
		Result:           r,
	}})
}

// checkTabs reports every tab in a line's indentation: YAML indents with
// spaces only. It returns the lines that have one.
func (p *parser) checkTabs() map[int]bool {
	tabs := map[int]bool{}
	for i, l := range p.lines {
		for j, c := range l {
			if c == '\t' {
				p.errAt(i+1, j+1, "", "tab character in indentation: YAML indents with spaces")
				tabs[i+1] = true
				break
			}
			if c != ' ' {
				break
			}
		}
	}
	return tabs
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses the file into a node tree. A syntax error is reported
// at its line (found by parsing ever longer prefixes when the parser does
// not say), unless a tab on that line already explains it.
func (p *parser) parseYAML(tabs map[int]bool) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(p.data))
	var root yaml.Node
	err := dec.Decode(&root)
	if errors.Is(err, io.EOF) {
		return &root, true
	}
	if err == nil {
		var next yaml.Node
		if err2 := dec.Decode(&next); !errors.Is(err2, io.EOF) {
			p.errAt(max(next.Line, 1), 1, "", "only one YAML document is allowed")
			return nil, false
		}
		return &root, true
	}
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if l := p.syntaxLine(msg); l > 0 {
		line = l
	}
	if !tabs[line] {
		p.errAt(max(line, 1), p.firstCol(line), "", "YAML syntax error: %s", msg)
	}
	return nil, false
}

// syntaxLine finds the line of a syntax error: the shortest prefix of the
// file that fails with the same message ends there. (yaml.v3 reports some
// errors without a line, and parser errors at the line before the one
// where their context starts.) It returns 0 when no prefix matches.
func (p *parser) syntaxLine(msg string) int {
	lines := bytes.SplitAfter(p.data, []byte("\n"))
	if len(lines) > 5000 {
		return 0
	}
	end := 0
	for i, l := range lines {
		end += len(l)
		var n yaml.Node
		err := yaml.Unmarshal(p.data[:end], &n)
		if err == nil {
			continue
		}
		m := err.Error()
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			m = sm[2]
		} else {
			m = strings.TrimPrefix(m, "yaml: ")
		}
		if m == msg {
			return i + 1
		}
	}
	return 0
}

// firstCol is the column of the first non-blank rune of a line (1 if none).
func (p *parser) firstCol(line int) int {
	if line < 1 || line > len(p.lines) {
		return 1
	}
	for i, c := range p.lines[line-1] {
		if c != ' ' && c != '\t' {
			return i + 1
		}
	}
	return 1
}

// document returns the top-level mapping, reporting an empty or
// non-mapping document.
func (p *parser) document(root *yaml.Node) *yaml.Node {
	if root.Kind == 0 || len(root.Content) == 0 || isNull(root.Content[0]) {
		if p.envTable { // nothing but LAWCKET_TABLE: a spec without fields
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
		}
		p.errAt(1, 1, "table", "the spec is empty: table is required (or set %s)", EnvTable)
		return nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		p.errNode(doc, "", "the spec must be a mapping with keys %s", strings.Join(topKeys, ", "))
		return nil
	}
	return doc
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// pairs iterates over a mapping's key/value pairs, reporting duplicate
// keys, merge keys and non-scalar keys (those pairs are skipped).
func (p *parser) pairs(m *yaml.Node, path string, each func(key, val *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errNode(k, path, "a key must be a plain name")
			continue
		case k.ShortTag() == "!!merge":
			p.errNode(k, path, "merge keys (<<) are not supported")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errNode(k, join(path, k.Value), "duplicate key %s (first at %d:%d)", k.Value, first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		each(k, v)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownKey reports key as unknown, suggesting the closest allowed one.
func (p *parser) unknownKey(k *yaml.Node, path string, allowed []string) {
	msg := fmt.Sprintf("unknown key %s", k.Value)
	if s := suggest(k.Value, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else {
		msg += fmt.Sprintf(" (allowed: %s)", strings.Join(allowed, ", "))
	}
	p.errNode(k, join(path, k.Value), "%s", msg)
}

// walkTop checks the top-level keys and returns the sound fields and the
// env: allowlist.
func (p *parser) walkTop(doc *yaml.Node) (fields []fieldNodes, envNames []string, hasTable bool) {
	p.pairs(doc, "", func(k, v *yaml.Node) {
		switch k.Value {
		case "table":
			hasTable = true
			p.checkTableNode(v)
		case "ttl":
			p.checkTTLNode(v)
		case "env":
			envNames = p.walkEnv(v)
		case "fields":
			fields = p.walkFields(v)
		case "channels":
			p.walkChannels(k, v)
		default:
			p.unknownKey(k, "", topKeys)
		}
	})
	return fields, envNames, hasTable
}

func (p *parser) scalar(v *yaml.Node, path, what string) (string, bool) {
	v = resolve(v)
	if v.Kind != yaml.ScalarNode || isNull(v) {
		p.errNode(v, path, "must be %s", what)
		return "", false
	}
	return v.Value, true
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (p *parser) checkTableNode(v *yaml.Node) {
	s, ok := p.scalar(v, "table", "a table name")
	if !ok {
		return
	}
	if msg := checkTable(s); msg != "" {
		p.errNode(v, "table", "%s", msg)
	}
}

func (p *parser) checkTTLNode(v *yaml.Node) {
	s, ok := p.scalar(v, "ttl", `a duration such as "3h"`)
	if !ok {
		return
	}
	if tag := resolve(v).ShortTag(); tag == "!!int" || tag == "!!float" {
		p.errNode(v, "ttl", "invalid duration %s: a number needs a unit, such as %ss or %sh", s, s, s)
		return
	}
	if msg := checkTTL(s); msg != "" {
		p.errNode(v, "ttl", "%s", msg)
	}
}

func (p *parser) walkEnv(v *yaml.Node) []string {
	v = resolve(v)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.errNode(v, "env", "env must be a list of variable names, such as [STAGE_NAME]")
		return nil
	}
	var names []string
	seen := map[string]bool{}
	for i, n := range v.Content {
		path := fmt.Sprintf("env[%d]", i)
		s, ok := p.scalar(n, path, "a variable name")
		switch {
		case !ok:
		case !envName.MatchString(s):
			p.errNode(n, path, "invalid variable name %q: letters, digits and '_', not starting with a digit", s)
		case secretEnv[s]:
			p.errNode(n, path, "%s holds AWS credentials and cannot be exposed to expressions", s)
		case seen[s]:
			p.errNode(n, path, "%s is listed twice", s)
		default:
			seen[s] = true
			names = append(names, s)
		}
	}
	return names
}

// fieldNodes is a sound field with the nodes its errors point at.
type fieldNodes struct {
	Field
	key, expr, value, def, typ *yaml.Node
	bare                       bool // a literal without value:
}

func (p *parser) walkFields(v *yaml.Node) []fieldNodes {
	v = resolve(v)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.errNode(v, "fields", "fields must be a mapping of attribute names to values or expressions")
		return nil
	}
	var out []fieldNodes
	p.pairs(v, "fields", func(k, val *yaml.Node) {
		if f, ok := p.walkField(k, val); ok {
			out = append(out, f)
		}
	})
	return out
}

func (p *parser) walkField(k, v *yaml.Node) (fieldNodes, bool) {
	name := k.Value
	path := "fields." + name
	f := fieldNodes{key: k}
	f.Name, f.Line, f.Col = name, k.Line, k.Column
	ok := true
	switch {
	case isNull(k) || name == "":
		p.errNode(k, "fields", "a field name must not be empty")
		ok = false
	case len(name) > eval.MaxNameLen:
		p.errNode(k, path, "a field name must be at most %d bytes (it is %d)", eval.MaxNameLen, len(name))
		ok = false
	case eval.IsReserved(name):
		p.errNode(k, path, "%s is reserved: lawcket writes it itself", name)
		ok = false
	}
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		val, good := p.literal(v, path, true)
		f.Value, f.value, f.bare = val, v, true
		return f, ok && good
	}
	var required, hasExpr, hasValue bool
	p.pairs(v, path, func(fk, fv *yaml.Node) {
		kp := join(path, fk.Value)
		switch fk.Value {
		case "expr":
			hasExpr = true
			fv = resolve(fv)
			if fv.Kind != yaml.ScalarNode || isNull(fv) {
				p.errNode(fv, kp, "expr must be a string (quote an expr map or list literal: '{a: 1}')")
				ok = false
				return
			}
			if strings.TrimSpace(fv.Value) == "" {
				p.errNode(fv, kp, "expr is empty")
				ok = false
				return
			}
			f.Expr, f.expr = fv.Value, fv
		case "value":
			hasValue = true
			val, good := p.literal(fv, kp, true)
			f.Value, f.value = val, resolve(fv)
			ok = ok && good
		case "required":
			required = true
			f.Required, ok = p.boolean(fv, kp, ok)
		case "index":
			f.Index, ok = p.boolean(fv, kp, ok)
			f.IndexKey = f.Index
		case "default":
			val, good := p.literal(fv, kp, true)
			f.Default, f.HasDefault, f.def = val, true, resolve(fv)
			ok = ok && good
		case "type":
			s, good := p.scalar(fv, kp, "one of string, number, bool, list, map")
			if !good {
				ok = false
				return
			}
			kind, known := eval.ParseKind(s)
			if !known {
				p.errNode(fv, kp, "unknown type %s (want string, number, bool, list or map)", s)
				ok = false
				return
			}
			f.Type, f.typ = kind, resolve(fv)
		default:
			p.unknownKey(fk, path, fieldKeys)
			ok = false
		}
	})
	switch {
	case hasExpr && hasValue:
		p.errNode(k, path, "a field has expr or value, not both")
		ok = false
	case !hasExpr && !hasValue:
		p.errNode(k, path, "a field mapping needs expr (an expression) or value (a literal; a literal mapping goes under value:)")
		ok = false
	case hasValue && required:
		p.errNode(k, path, "required applies to expr fields only")
		ok = false
	case hasValue && f.HasDefault:
		p.errNode(k, path, "default applies to expr fields only")
		ok = false
	case required && f.HasDefault && f.Required:
		p.errNode(k, path, "required and default together: the default would always apply, so required could never refuse")
		ok = false
	}
	return f, ok
}

func (p *parser) boolean(v *yaml.Node, path string, ok bool) (bool, bool) {
	v = resolve(v)
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
		msg := "must be true or false"
		if v.Kind == yaml.ScalarNode && v.Style == 0 && strings.Contains("|yes|no|on|off|y|n|", "|"+strings.ToLower(v.Value)+"|") {
			msg += fmt.Sprintf(" (%s is a string in YAML 1.2)", v.Value)
		}
		p.errNode(v, path, "%s", msg)
		return false, false
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		p.errNode(v, path, "%v", err)
		return false, false
	}
	return b, ok
}

// literal converts a node to a literal value a row can hold, reporting
// what cannot be stored at its own position. top is false inside lists and
// maps, where null is allowed (DynamoDB NULL).
func (p *parser) literal(n *yaml.Node, path string, top bool) (any, bool) {
	return p.literalAt(n, path, top, 0)
}

// maxLiteralNodes bounds the values of all literals together, so that
// aliases cannot expand exponentially (a row holds at most 400 KB anyway).
const maxLiteralNodes = 100_000

func (p *parser) literalAt(n *yaml.Node, path string, top bool, depth int) (any, bool) {
	n = resolve(n)
	if p.literalNodes++; p.literalNodes > maxLiteralNodes {
		if p.literalNodes == maxLiteralNodes+1 {
			p.errNode(n, path, "literals hold more than %d values (aliases expand too far)", maxLiteralNodes)
		}
		return nil, false
	}
	if (n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && depth >= eval.MaxDepth {
		p.errNode(n, path, "lists and maps nest deeper than DynamoDB's %d levels", eval.MaxDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		ok := true
		for i, c := range n.Content {
			v, good := p.literalAt(c, fmt.Sprintf("%s[%d]", path, i), false, depth+1)
			out = append(out, v)
			ok = ok && good
		}
		return out, ok
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		ok := true
		p.pairs(n, path, func(k, v *yaml.Node) {
			if k.ShortTag() != "!!str" {
				p.errNode(k, join(path, k.Value), "map keys must be strings: quote it (%q)", k.Value)
				ok = false
				return
			}
			val, good := p.literalAt(v, join(path, k.Value), false, depth+1)
			out[k.Value] = val
			ok = ok && good
		})
		return out, ok
	case yaml.ScalarNode:
	default:
		p.errNode(n, path, "unsupported YAML node")
		return nil, false
	}
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp":
		return n.Value, true
	case "!!null":
		if top {
			p.errNode(n, path, "a value must not be null: leave the field out instead")
			return nil, false
		}
		return nil, true
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			p.errNode(n, path, "%v", err)
			return nil, false
		}
		return b, true
	case "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			p.errNode(n, path, "invalid number %s", n.Value)
			return nil, false
		}
		if f, isFloat := v.(float64); isFloat {
			if f != f || f > 9.9999999999999999999999999999999999999e125 || f < -9.9999999999999999999999999999999999999e125 {
				p.errNode(n, path, "%s cannot be stored in DynamoDB (numbers range from -1e126 to 1e126)", n.Value)
				return nil, false
			}
			if a := max(f, -f); a != 0 && a < 1e-130 {
				p.errNode(n, path, "%s cannot be stored in DynamoDB (too small; the smallest magnitude is 1e-130)", n.Value)
				return nil, false
			}
		}
		return v, true
	case "!!binary":
		p.errNode(n, path, "binary values are not supported")
		return nil, false
	default:
		p.errNode(n, path, "unsupported tag %s", tag)
		return nil, false
	}
}

// compile compiles the sound fields and reports compile errors at their
// place in the file: an expression error at its line and column inside
// the scalar, followed by expr's caret snippet.
func (p *parser) compile(fields []fieldNodes, opts eval.Options) *eval.Program {
	ef := make([]eval.Field, len(fields))
	byName := make(map[string]*fieldNodes, len(fields))
	for i := range fields {
		ef[i] = fields[i].Field.Field
		byName[fields[i].Name] = &fields[i]
	}
	prog, err := eval.Compile(ef, opts)
	if err == nil {
		return prog
	}
	var list []error
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		list = u.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var ce *eval.CompileError
		if !errors.As(e, &ce) {
			p.errAt(1, 1, "", "%v", e)
			continue
		}
		f := byName[ce.Field]
		if f == nil {
			p.errAt(1, 1, "fields."+ce.Field, "%s", ce.Message)
			continue
		}
		path := "fields." + ce.Field
		node := f.key
		switch ce.Key {
		case "expr":
			node, path = f.expr, path+".expr"
		case "value":
			if f.value != nil {
				node = f.value
			}
			if !f.bare {
				path += ".value"
			}
		case "default":
			node, path = f.def, path+".default"
		case "type":
			if f.typ != nil {
				node, path = f.typ, path+".type"
			}
		}
		if node == nil {
			node = f.key
		}
		line, col := node.Line, node.Column
		if ce.Key == "expr" && ce.Line > 0 {
			if ps := scalarPositions(p.lines, node); ps != nil && ce.Offset >= 0 && ce.Offset < len(ps) {
				line, col = ps[ce.Offset].line, ps[ce.Offset].col
			}
		}
		e := p.errAt(line, col, path, "%s", ce.Message)
		e.Snippet = ce.Snippet
	}
	return nil
}
