package syncspec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a spec: where (File, 1-based Line and Column, the
// key Path such as "fields.room.expr") and what. A problem with a value
// from the environment names the variable (EnvVar) instead of a position.
type Error struct {
	File    string
	Line    int
	Column  int
	Path    string
	Message string
	// Snippet is expr's caret snippet for expression errors (lines
	// starting with " | "), else "".
	Snippet string
	// EnvVar is the environment variable the bad value came from, e.g.
	// LAWCKET_TTL; Line and Column are then zero.
	EnvVar string
}

// Error formats the problem as FILE:LINE:COL: path: message, followed by
// the snippet on its own lines; or as VAR: message for an environment
// variable.
func (e *Error) Error() string {
	var b strings.Builder
	if e.EnvVar != "" {
		b.WriteString(e.EnvVar)
	} else {
		fmt.Fprintf(&b, "%s:%d:%d", e.File, e.Line, e.Column)
		if e.Path != "" {
			b.WriteString(": ")
			b.WriteString(e.Path)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Snippet != "" {
		b.WriteString("\n")
		b.WriteString(e.Snippet)
	}
	return b.String()
}

// Errors is every problem found in a spec, sorted: environment variables
// first, then by position. Load and Parse return it (as an error) when the
// spec is invalid; its Error is the complete multi-line report, ready to
// print.
type Errors []*Error

// Error is the complete report: one problem per line (expression problems
// followed by their snippet lines), without a trailing newline.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		ea, eb := a.EnvVar != "", b.EnvVar != ""
		switch {
		case ea && eb:
			return strings.Compare(a.EnvVar, b.EnvVar)
		case ea:
			return -1 // environment variables first
		case eb:
			return 1
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
