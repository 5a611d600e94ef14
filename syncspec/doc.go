// Package syncspec loads lawcket.yaml: the connections table, the row TTL,
// the env allowlist, and the fields each connection's row gets, as
// literals or expr-lang expressions over the $connect event; and the
// optional api: section (API, api.go), the WebSocket API that `lawcket
// template` deploys and `lawcket dev` runs.
//
// # Lifecycle
//
// Load (or Parse) runs once, at init — on every Lambda cold start, and by
// `lawcket validate`. It reads the file with koanf (the YAML bytes, then the
// LAWCKET_TABLE and LAWCKET_TTL overrides), checks it strictly against a
// go.yaml.in/yaml/v3 node tree of the same bytes, and compiles every
// expression once with package eval. Every problem is collected, not only
// the first: an invalid spec gives Errors, each FILE:LINE:COL: path:
// message (expression errors at their place inside the scalar, followed by
// expr's caret snippet; a bad environment value names its variable).
//
// Per connection, Spec.Evaluate (Spec.Program.Evaluate) computes the
// fields; the dynamo plugin adds the reserved attributes (connectionId,
// domainName, stage, connectedAt, expiresAt) itself.
//
// # Concurrency
//
// A Spec is immutable after Load and safe for concurrent use; so is its
// Program. Load reads the environment variables it needs once; nothing is
// re-read afterwards.
package syncspec
