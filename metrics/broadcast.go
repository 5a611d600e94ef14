package metrics

import "github.com/lawcket/lawcket/broadcast"

// Broadcast emits a broadcast's (or one segment's) Report as one EMF line,
// with the dimensions Table and Selector (for example "room=lobby", or
// "all", or "all 3/8" for a segment): Posts (HTTP attempts), Delivered
// (sent), Gone, Throttled, Failed, Ambiguous, Duration (seconds) and
// AchievedRate (requests per second).
func Broadcast(e *Emitter, table, selector string, rep broadcast.Report) error {
	return e.Emit(map[string]string{"Table": table, "Selector": selector},
		Metric{"Posts", Count, float64(rep.Attempts)},
		Metric{"Delivered", Count, float64(rep.Sent)},
		Metric{"Gone", Count, float64(rep.Gone)},
		Metric{"Throttled", Count, float64(rep.Throttled)},
		Metric{"Failed", Count, float64(rep.Failed)},
		Metric{"Ambiguous", Count, float64(rep.Ambiguous)},
		Metric{"Duration", Seconds, rep.Seconds},
		Metric{"AchievedRate", CountPerSecond, rep.AchievedRate},
	)
}
