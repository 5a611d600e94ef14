package dynamo

import (
	"context"
	"iter"

	"github.com/lawcket/lawcket/mgmt"
)

// Targets streams the Management API targets of the selected rows (see
// Connections): each row's connectionId, domainName and stage. It is the
// input of broadcast.Sender.Send:
//
//	rep, err := sender.Send(ctx, table.Targets(ctx, sel), payload)
func (t *Table) Targets(ctx context.Context, sel Selector) iter.Seq2[mgmt.Target, error] {
	return func(yield func(mgmt.Target, error) bool) {
		for row, err := range t.Connections(ctx, sel) {
			if !yield(mgmt.Target{ConnectionID: row.ConnectionID, DomainName: row.DomainName, Stage: row.Stage}, err) {
				return
			}
		}
	}
}
