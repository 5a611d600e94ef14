// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines: JSON
// log lines that CloudWatch Logs extracts into metrics, with no API call
// and no agent in Lambda (stdout goes to the function's log group).
//
// Metrics are off unless an Emitter is built (New); a nil *Emitter emits
// nothing. Broadcast records a broadcast.Report (posts, delivered, gone,
// throttled, failed, ambiguous, duration, achieved rate) with the table and
// the selector as dimensions; fanout.WithMetrics emits one line per job,
// and cmd/lawcket-fanout turns it on with LAWCKET_METRICS_NAMESPACE.
// Connections (and Events, messages included) is a lawcket.Middleware
// recording each $connect and $disconnect of an App — accepted, refused
// (by status: 400, 401, 403 …), failed (5xx) and its duration — with the
// small, bounded dimensions Stage, EventType and Status (never a
// connection id, room or anything a client sends: CloudWatch bills each
// dimension combination); cmd/lawcket-sync turns it on with
// LAWCKET_METRICS_NAMESPACE.
//
// Each line is one object: the dimension values and metric values as its
// members, and "_aws" holding the Timestamp (epoch milliseconds) and the
// CloudWatchMetrics directives (each a Namespace, one dimension set, the
// metrics' names and units; Emit writes one, EmitDirectives several), as
// the EMF specification says; Emit refuses what the
// specification does not allow (more than 100 metrics or 30 dimensions,
// empty or over-long names, names used twice, values that are not finite).
//
// An Emitter is safe for concurrent use: each line is one Write to the
// writer. The middleware of Connections writes its line after the rest of
// the chain has returned, on the invocation's goroutine.
package metrics
