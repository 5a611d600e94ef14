package syncspec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/lawcket/lawcket/eval"
)

// fieldKeys are the keys a field mapping allows.
var fieldKeys = []string{"expr", "value", "required", "default", "index", "shards", "type"}

// fieldNodes is a structurally sound field with the nodes its errors point at.
type fieldNodes struct {
	Field
	key, expr, value, def, typ, required, index, shards *yaml.Node
	bare                                                bool // a literal without value:
}

// walkFields reads fields: into eval.Fields. It checks only the YAML's
// structure (kinds of nodes, known keys, which keys are present); eval
// checks the rules of a field (finishFields).
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
	if isNull(k) {
		name = ""
	}
	path := "fields." + name
	f := fieldNodes{key: k}
	f.Name, f.Line, f.Column = name, k.Line, k.Column
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		val, good := p.literal(v, path)
		f.Value, f.value, f.bare = val, v, true
		return f, good
	}
	ok := true
	var hasExpr, hasValue bool
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
			val, good := p.literal(fv, kp)
			f.Value, f.value = val, resolve(fv)
			ok = ok && good
		case "required":
			f.Required, ok = p.boolean(fv, kp, ok)
			f.required = resolve(fv)
		case "index":
			f.Index, ok = p.boolean(fv, kp, ok)
			f.index = resolve(fv)
		case "shards":
			r := resolve(fv)
			n, err := strconv.Atoi(r.Value)
			if r.Kind != yaml.ScalarNode || r.ShortTag() != "!!int" || err != nil {
				p.errNode(r, kp, "shards must be a whole number (2 to %d)", eval.MaxShards)
				ok = false
				return
			}
			f.Shards, f.shards = n, r
		case "default":
			val, good := p.literal(fv, kp)
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
	}
	return f, ok
}

// maxLiteralNodes bounds the values of all literals together, so that
// aliases cannot expand exponentially (a row holds at most 400 KB anyway).
const maxLiteralNodes = 100_000

// literal converts a node to the Go value eval checks: string, bool,
// number, []any, map[string]any or nil. It reports here only what is YAML:
// tags, non-string map keys, and aliases that expand too far; what a row
// cannot hold (null at the top, numbers out of range, nesting) is eval's.
func (p *parser) literal(n *yaml.Node, path string) (any, bool) {
	return p.literalAt(n, path, 0, nil)
}

// literalAt converts n at depth; via is the innermost alias on the way,
// where an alias expansion that goes too far is reported.
func (p *parser) literalAt(n *yaml.Node, path string, depth int, via *yaml.Node) (any, bool) {
	if n.Kind == yaml.AliasNode {
		via = n
	}
	n = resolve(n)
	if p.literalNodes++; p.literalNodes > maxLiteralNodes {
		if p.literalNodes == maxLiteralNodes+1 {
			at := n
			if via != nil {
				at = via
			}
			p.errNode(at, path, "literals hold more than %d values: this alias expands too far", maxLiteralNodes)
		}
		return nil, false
	}
	if (n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) && depth > eval.MaxDepth {
		// Deeper than DynamoDB can nest (eval reports it); an alias cycle
		// would never end.
		return []any{}, true
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		ok := true
		for i, c := range n.Content {
			v, good := p.literalAt(c, fmt.Sprintf("%s[%d]", path, i), depth+1, via)
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
			val, good := p.literalAt(v, join(path, k.Value), depth+1, via)
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
		return nil, true
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			p.errNode(n, path, "invalid %s %s", strings.TrimPrefix(tag, "!!"), n.Value)
			return nil, false
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

// finishFields compiles the sound fields with eval — also when other
// parts of the file are wrong, so that their problems are reported too —
// and reports eval's errors at their place in the file.
func finishFields(p *parser, s *Spec, present bool) {
	opts := p.opts.eval
	opts.Env = make(map[string]string, len(s.Env))
	opts.EnvNames = s.Env
	for _, n := range s.Env {
		if v, ok := p.opts.lookupEnv(n); ok {
			opts.Env[n] = v
		}
	}
	prog := p.compile(p.fields, opts)
	if prog == nil {
		return
	}
	s.Program = prog
	for _, f := range p.fields {
		if f.Index {
			f.Type = prog.Kind(f.Name)
		}
		s.Fields = append(s.Fields, f.Field)
	}
}

// compile compiles the fields and reports compile errors at their place
// in the file: an expression error at its line and column inside the
// scalar, followed by expr's caret snippet; a literal's at the element.
func (p *parser) compile(fields []fieldNodes, opts eval.Options) *eval.Program {
	ef := make([]eval.Field, len(fields))
	byName := make(map[string]*fieldNodes, len(fields))
	for i := range fields {
		ef[i] = fields[i].Field.Field
		if _, dup := byName[fields[i].Name]; !dup {
			byName[fields[i].Name] = &fields[i]
		}
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
		if f := byName[ce.Field]; f != nil {
			p.compileError(f, ce)
		} else {
			p.errAt(1, 1, "fields."+ce.Field, "%s", ce.Message)
		}
	}
	return nil
}

// compileError reports one eval error at the node of the key it is about.
func (p *parser) compileError(f *fieldNodes, ce *eval.CompileError) {
	path := "fields." + ce.Field
	node := f.key
	if ce.Field == "" {
		path = "fields"
	}
	pick := func(n *yaml.Node, key string) {
		if n != nil {
			node, path = n, path+"."+key
		}
	}
	switch ce.Key {
	case "expr":
		pick(f.expr, "expr")
	case "value":
		if f.bare {
			node = f.value
		} else {
			pick(f.value, "value")
		}
	case "default":
		pick(f.def, "default")
	case "type":
		pick(f.typ, "type")
	case "required":
		pick(f.required, "required")
	case "index":
		pick(f.index, "index")
	case "shards":
		pick(f.shards, "shards")
	}
	if len(ce.Path) > 0 {
		node = descend(node, ce.Path)
		path += eval.FormatPath(ce.Path)
	}
	p.errCompile(node, path, ce.Message, ce)
}

// descend follows a value path (list indices, map keys) from n to the
// node of the element, as far as the nodes go.
func descend(n *yaml.Node, path []any) *yaml.Node {
	for _, step := range path {
		r := resolve(n)
		var next *yaml.Node
		switch s := step.(type) {
		case int:
			if r.Kind == yaml.SequenceNode && s < len(r.Content) {
				next = r.Content[s]
			}
		case string:
			if r.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(r.Content); i += 2 {
					if r.Content[i].Value == s {
						next = r.Content[i+1]
					}
				}
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}
