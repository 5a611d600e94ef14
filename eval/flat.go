package eval

import (
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/types"
)

// Flattening: expr 1.17 reads `query.user` with a reflect-based fetch (one
// allocation each), but reads top-level names of a map[string]any
// environment directly. So each expression is parsed first to find its
// constant-key accesses (`name.key`, `name["key"]` and
// `requestContext.identity.key`), and then compiled with a patch
// that rewrites them into top-level names, declared in the environment
// with the types of the run environment, which Evaluate fills. Only the
// program that runs is flattened: the one that is checked, and that usage
// analysis and static kinds read, is not (see Compile).

// flatten turns flattening on; tests turn it off to compare.
var flatten = true

// flatSep joins a name and a key into a flattened name; no expression can
// write it, so flattened names never collide with real ones.
const flatSep = "\x00"

// flatName is one flattened access: the environment name (an index into
// Names()), the key, and for requestContext.identity.* the sub-key.
type flatName struct {
	name     string // the flattened identifier, e.g. "query\x00user"
	root     int
	key, sub string
}

// flatCandidates finds the accesses of tree that can be flattened. It gives
// up (nil) on expressions that use $env or declare a variable named like
// an environment name, where a rewrite could change the meaning.
func flatCandidates(tree ast.Node) []flatName {
	v := &flatFinder{}
	ast.Walk(&tree, v)
	if v.unsafe {
		return nil
	}
	return v.found
}

type flatFinder struct {
	found  []flatName
	unsafe bool
}

func (v *flatFinder) add(f flatName) {
	for _, g := range v.found {
		if g.name == f.name {
			return
		}
	}
	v.found = append(v.found, f)
}

func (v *flatFinder) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			v.unsafe = true
		}
	case *ast.VariableDeclaratorNode:
		if nameIndex(n.Name) >= 0 {
			v.unsafe = true
		}
	case *ast.MemberNode:
		if n.Method {
			return
		}
		key, ok := n.Property.(*ast.StringNode)
		if !ok {
			return
		}
		switch base := n.Node.(type) {
		case *ast.IdentifierNode:
			if i := nameIndex(base.Value); i >= 0 {
				v.add(flatName{name: base.Value + flatSep + key.Value, root: i, key: key.Value})
			}
		case *ast.MemberNode:
			id, ok := base.Node.(*ast.IdentifierNode)
			mid, ok2 := base.Property.(*ast.StringNode)
			if ok && ok2 && id.Value == nameRequestContext && mid.Value == "identity" && !base.Method {
				v.add(flatName{name: nameRequestContext + flatSep + "identity" + flatSep + key.Value, root: nameIndex(nameRequestContext), key: "identity", sub: key.Value})
			}
		}
	}
}

// flattener rewrites the accesses listed in names into identifiers.
type flattener struct{ names map[string]bool }

func (f *flattener) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.MemberNode)
	if !ok || n.Method {
		return
	}
	key, ok := n.Property.(*ast.StringNode)
	if !ok {
		return
	}
	id, ok := n.Node.(*ast.IdentifierNode)
	if !ok {
		return
	}
	if name := id.Value + flatSep + key.Value; f.names[name] {
		ast.Patch(node, &ast.IdentifierNode{Value: name})
	}
}

// planFlat decides which accesses of a parsed tree to flatten: those whose
// key the typed environment declares (any key of query, headers, …;
// declared keys of requestContext and env). The expression has already
// been checked (see Compile), which reports unknown keys and upper-case
// header keys. It returns the options that compile the expression
// flattened (added after the run environment's), or nil when there is
// nothing to flatten.
func planFlat(tree ast.Node, env types.Map) ([]expr.Option, []flatName) {
	var cands []flatName
	flat := types.Map{}
	names := map[string]bool{}
	for _, c := range flatCandidates(tree) {
		rootName := Names()[c.root]
		root := env[rootName].(types.Map)
		t, ok := root[c.key]
		if !ok {
			t, ok = root[types.Extra]
		}
		if !ok {
			continue // an unknown key, which checking reported
		}
		if c.sub != "" {
			m, isMap := t.(types.Map)
			st, known := m[c.sub]
			if !isMap || !known {
				continue
			}
			mid := rootName + flatSep + c.key
			flat[mid], names[mid] = t, true
			t = st
		}
		flat[c.name], names[c.name] = t, true
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	for k, t := range env {
		flat[k] = t
	}
	return []expr.Option{expr.Env(flat), expr.Patch(&flattener{names: names})}, cands
}
