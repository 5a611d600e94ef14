package syncspec

import (
	"unicode/utf8"

	"github.com/lawcket/lawcket/eval"
	yaml "go.yaml.in/yaml/v3"
)

// pos is a 1-based line and column (in runes) in the file.
type pos struct{ line, col int }

// scalarPositions maps each rune of a scalar's value, and the position
// just after it, to its position in the file, so that an error at a rune
// offset inside an expression can be reported at FILE:LINE:COL. It handles
// plain, single- and double-quoted scalars on one or several lines, and
// literal (|) and folded (>) block scalars, by walking the source from the
// scalar's start and matching value runes to source runes: line breaks
// and indentation that YAML folds away, quotes and escape backslashes are
// skipped. It returns nil when the value cannot be matched (an escape
// such as \n in a double-quoted scalar); the caller then reports the
// scalar's own position.
func scalarPositions(lines [][]rune, n *yaml.Node) []pos {
	line, col := n.Line, n.Column // 1-based
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		line, col = n.Line+1, 1 // content starts on the next line
	}
	out := make([]pos, 0, utf8.RuneCountInString(n.Value)+1)
	// at returns the source rune at (line, col), '\n' past a line's end,
	// and false past the end of the file.
	at := func() (rune, bool) {
		if line-1 >= len(lines) {
			return 0, false
		}
		l := lines[line-1]
		if col-1 < len(l) {
			return l[col-1], true
		}
		return '\n', true
	}
	advance := func() {
		if col-1 >= len(lines[line-1]) {
			line, col = line+1, 1
			return
		}
		col++
	}
	for _, v := range n.Value {
		for {
			c, ok := at()
			if !ok {
				return nil
			}
			if c == v || (v == ' ' && (c == '\n' || c == '\t')) {
				out = append(out, pos{line, col})
				advance()
				break
			}
			switch c {
			case ' ', '\t', '\n', '\r', '\'', '"', '\\':
				advance()
				continue
			}
			return nil
		}
	}
	// The position just after the value: after the last rune when there
	// is one, else the scalar's own position.
	if len(out) > 0 {
		last := out[len(out)-1]
		out = append(out, pos{last.line, last.col + 1})
	} else {
		out = append(out, pos{n.Line, n.Column})
	}
	return out
}

// errCompile reports an eval compile error about node n with message msg:
// an expression error that has a position (ce.Line > 0) at that position
// inside the scalar n (see scalarPositions), any other at n; with expr's
// caret snippet.
func (p *parser) errCompile(n *yaml.Node, path, msg string, ce *eval.CompileError) {
	line, col := n.Line, n.Column
	if ce.Line > 0 {
		if ps := scalarPositions(p.lines, n); ps != nil && ce.Offset >= 0 && ce.Offset < len(ps) {
			line, col = ps[ce.Offset].line, ps[ce.Offset].col
		}
	}
	p.errAt(line, col, path, "%s", msg).Snippet = ce.Snippet
}
