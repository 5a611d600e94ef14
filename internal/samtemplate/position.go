package samtemplate

import (
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// pos is the position of the deepest node of the template found along
// path (dot-separated mapping keys and list indexes): the key's position
// in a mapping, the element's in a list. Unknown: zero.
func (p *parser) pos(path string) Pos {
	if p.root == nil {
		return Pos{}
	}
	n := p.root
	best := Pos{n.Line, n.Column}
	for _, part := range splitPath(path) {
		n = resolveAlias(n)
		next, at := child(n, part)
		if next == nil {
			break
		}
		best, n = at, next
	}
	return best
}

// splitPath splits a dotted path; a segment in brackets ([a.b]) keeps its
// dots, for keys such as route keys.
func splitPath(path string) []string {
	var parts []string
	for path != "" {
		if rest, ok := strings.CutPrefix(path, "["); ok {
			if i := strings.Index(rest, "]"); i >= 0 {
				parts = append(parts, rest[:i])
				path = strings.TrimPrefix(rest[i+1:], ".")
				continue
			}
		}
		part, rest, _ := strings.Cut(path, ".")
		parts = append(parts, part)
		path = rest
	}
	return parts
}

func child(n *yaml.Node, key string) (*yaml.Node, Pos) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1], Pos{n.Content[i].Line, n.Content[i].Column}
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], Pos{n.Content[i].Line, n.Content[i].Column}
		}
	}
	return nil, Pos{}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

var yamlLineRE = regexp.MustCompile(`line ([0-9]+)(?:, column ([0-9]+))?`)

// yamlErrorPos is the position a yaml.v3 error names.
func yamlErrorPos(err error) Pos {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return Pos{}
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	if col == 0 {
		col = 1
	}
	return Pos{line, col}
}

// key quotes a mapping key for a path when it holds a dot.
func key(k string) string {
	if strings.Contains(k, ".") {
		return "[" + k + "]"
	}
	return k
}
