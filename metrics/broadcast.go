package metrics

import "github.com/lawcket/lawcket/broadcast"

// Broadcast emits a broadcast's (or one job's) Report as one EMF line:
// Posts (HTTP attempts), Delivered (sent), Gone, Throttled, Failed,
// Ambiguous, Duration (seconds) and AchievedRate (requests per second),
// with the dimensions Table and Selector.
//
// Selector must take few values: the index field the broadcast selects by
// ("room") or "all" — never the field's value. CloudWatch keeps (and bills)
// one custom metric per combination of dimension values, and a room's name
// comes from clients. What exactly was read — "room=lobby", "all 3/8" (a
// Scan segment), "room=lobby shard 2/8" — goes in part, a property of the
// line: in the log, for CloudWatch Logs Insights, but not a dimension.
// An empty part is left out.
func Broadcast(e *Emitter, table, selector, part string, rep broadcast.Report) error {
	if e == nil {
		return nil
	}
	dims := map[string]string{"Table": table, "Selector": selector}
	if part != "" {
		dims["Part"] = part
	}
	return e.EmitDirectives(dims, Directive{Dimensions: []string{"Selector", "Table"}, Metrics: []Metric{
		{"Posts", Count, float64(rep.Attempts)},
		{"Delivered", Count, float64(rep.Sent)},
		{"Gone", Count, float64(rep.Gone)},
		{"Throttled", Count, float64(rep.Throttled)},
		{"Failed", Count, float64(rep.Failed)},
		{"Ambiguous", Count, float64(rep.Ambiguous)},
		{"Duration", Seconds, rep.Seconds},
		{"AchievedRate", CountPerSecond, rep.AchievedRate},
	}})
}
