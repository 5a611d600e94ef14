package stack

import (
	"slices"
	"strings"
)

// Statement is one IAM statement, in neutral terms each renderer turns into
// its own ARNs.
type Statement struct {
	Sid       string
	Actions   []string
	Resources []Resource
}

// Resource is what a Statement grants on.
type Resource struct {
	// Table (with Index "" the table itself, else one of its GSIs) or,
	// with Table nil, the Management API of this stack's API and stage for
	// Method (POST, GET or DELETE).
	Table  *Table
	Index  string
	Method Op
	// Queue: an SQS queue of the stack.
	Queue *Queue
}

// Statements derives f's IAM statements from its grants: DynamoDB actions
// on the tables (Query on the indexes only), execute-api:ManageConnections
// on …/STAGE/METHOD/@connections/* for each method it uses.
func (f *Function) Statements() []Statement {
	// Merge the grants per table (a feature may add to a table already
	// granted), keeping the order in which tables were first granted.
	type merged struct {
		table         *Table
		ops, indexOps []Op
		indexes       []string
	}
	var tables []*merged
	var methods []Op
	var queues []Statement
	union := func(dst []Op, src []Op) []Op {
		for _, op := range src {
			if !slices.Contains(dst, op) {
				dst = append(dst, op)
			}
		}
		return dst
	}
	for _, g := range f.Grants {
		if g.Queue != nil {
			st := Statement{Sid: sidOf(g.Queue.ID), Resources: []Resource{{Queue: g.Queue}}}
			for _, op := range g.Ops {
				st.Actions = append(st.Actions, string(op))
			}
			queues = append(queues, st)
			continue
		}
		if g.Table == nil {
			methods = union(methods, g.Ops)
			continue
		}
		i := slices.IndexFunc(tables, func(m *merged) bool { return m.table == g.Table })
		if i < 0 {
			tables = append(tables, &merged{table: g.Table})
			i = len(tables) - 1
		}
		m := tables[i]
		m.ops = union(m.ops, g.Ops)
		m.indexOps = union(m.indexOps, g.IndexOps)
		for _, ix := range g.Indexes {
			if !slices.Contains(m.indexes, ix) {
				m.indexes = append(m.indexes, ix)
			}
		}
	}
	var out []Statement
	for _, m := range tables {
		sid := sidOf(m.table.ID)
		if len(m.ops) > 0 {
			st := Statement{Sid: sid, Resources: []Resource{{Table: m.table}}}
			for _, op := range m.ops {
				st.Actions = append(st.Actions, string(op))
			}
			out = append(out, st)
		}
		if len(m.indexOps) > 0 && len(m.indexes) > 0 {
			st := Statement{Sid: sid + "Indexes"}
			for _, op := range m.indexOps {
				st.Actions = append(st.Actions, string(op))
			}
			for _, ix := range m.indexes {
				st.Resources = append(st.Resources, Resource{Table: m.table, Index: ix})
			}
			out = append(out, st)
		}
	}
	out = append(out, queues...)
	if len(methods) > 0 {
		st := Statement{Sid: "ManageConnections", Actions: []string{"execute-api:ManageConnections"}}
		for _, m := range []Op{PostToConnection, GetConnection, DeleteConnection} {
			if slices.Contains(methods, m) {
				st.Resources = append(st.Resources, Resource{Method: m})
			}
		}
		out = append(out, st)
	}
	return out
}

// sidOf turns a logical id into a statement id (letters and digits).
func sidOf(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, id)
}
