package stack

import (
	"slices"

	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/syncspec"
)

// BatchWriteItem is what a $disconnect, a 410 or a sweep uses to delete a
// connection's subscriptions (package channels).
const BatchWriteItem Op = "dynamodb:BatchWriteItem"

// SubscriptionsTableID is the logical id of the channels: section's table.
const SubscriptionsTableID = "SubscriptionsTable"

// channelsFeature adds what a spec with a channels: section needs (package
// channels; New applies it by itself): the subscriptions table
// (channels.TableDefinition, TTL on expiresAt), its name in every
// function's environment (LAWCKET_SUBSCRIPTIONS_TABLE), and the grants the
// channels plugin uses: PutItem, DeleteItem, GetItem, Query and
// BatchWriteItem on the table, Query on its connectionId index, GetItem and
// DeleteItem on the connections table (rules over the row, removal of gone
// connections) and POST @connections. A sweep (lawcket-sync on a schedule)
// also scans both tables and calls GET @connections: a function granted
// Scan (--allow scan) gets Scan on the subscriptions table and its index
// too; GET comes with --allow get-connection.
type channelsFeature struct{}

func (channelsFeature) Apply(s *Stack) error {
	def := channels.TableDefinition(s.Spec, "")
	if err := Unsupported(def); err != nil {
		return err
	}
	t := &Table{ID: SubscriptionsTableID, Def: def, TTL: channels.AttrExpiresAt, EnvVar: syncspec.EnvSubscriptionsTable}
	s.Tables = append(s.Tables, t)
	conns := s.Tables[0]
	for _, f := range s.Functions {
		if s.Authorizer != nil && f == s.Authorizer.Function {
			continue
		}
		ops, indexOps := []Op{GetItem, PutItem, DeleteItem, Query, BatchWriteItem}, []Op{Query}
		if f.Allowed(conns, Scan, "") {
			ops, indexOps = append(ops, Scan), append(indexOps, Scan)
		}
		f.Env = append(f.Env, EnvVar{Name: t.EnvVar, Table: t})
		s.Grant(Grant{Table: t, Ops: ops, IndexOps: indexOps, Indexes: []string{channels.ConnectionIndex}}, f)
		addOps(f, conns, GetItem, DeleteItem)
		addOps(f, nil, PostToConnection)
	}
	return nil
}

// addOps adds ops to f's grant on table (nil: the Management API), or a
// new grant: one statement per table, as the renderers name them.
func addOps(f *Function, table *Table, ops ...Op) {
	for i := range f.Grants {
		if g := &f.Grants[i]; g.Table == table {
			for _, op := range ops {
				if !slices.Contains(g.Ops, op) {
					g.Ops = append(g.Ops, op)
				}
			}
			return
		}
	}
	f.Grants = append(f.Grants, Grant{Table: table, Ops: ops})
}
