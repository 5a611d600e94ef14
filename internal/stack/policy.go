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
}

// Statements derives f's IAM statements from its grants: DynamoDB actions
// on the tables (Query on the indexes only), execute-api:ManageConnections
// on …/STAGE/METHOD/@connections/* for each method it uses.
func (f *Function) Statements() []Statement {
	var out []Statement
	var methods []Op
	for _, g := range f.Grants {
		if g.Table == nil {
			for _, op := range g.Ops {
				if !slices.Contains(methods, op) {
					methods = append(methods, op)
				}
			}
			continue
		}
		var onTable, onIndex []string
		for _, op := range g.Ops {
			onTable = append(onTable, string(op))
		}
		for _, op := range g.IndexOps {
			onIndex = append(onIndex, string(op))
		}
		sid := sidOf(g.Table.ID)
		if len(onTable) > 0 {
			out = append(out, Statement{Sid: sid, Actions: onTable, Resources: []Resource{{Table: g.Table}}})
		}
		if len(onIndex) > 0 && len(g.Indexes) > 0 {
			st := Statement{Sid: sid + "Indexes", Actions: onIndex}
			for _, ix := range g.Indexes {
				st.Resources = append(st.Resources, Resource{Table: g.Table, Index: ix})
			}
			out = append(out, st)
		}
	}
	if len(methods) > 0 {
		st := Statement{Sid: "ManageConnections", Actions: []string{"execute-api:ManageConnections"}}
		order := []Op{PostToConnection, GetConnection, DeleteConnection}
		for _, m := range order {
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
