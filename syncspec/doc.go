// Package syncspec loads lawcket.yaml: the connections table, the row TTL,
// the env allowlist, and the fields each connection's row gets, as
// literals or expr-lang expressions over the $connect event; and the
// optional api: section (API, api.go), the WebSocket API that `lawcket
// template` deploys and `lawcket dev` runs.
//
// # Lifecycle
//
// Load (or Parse) runs once, at init — on every Lambda cold start, and by
// `lawcket validate`. It parses the file once into a go.yaml.in/yaml/v3
// node tree and walks it strictly, one section per top-level key (table,
// ttl, env, fields, and the sections other files register; see
// sections.go): the walk checks the YAML's structure and keeps every
// node's position. The settings (table, ttl) are then layered with koanf —
// the file's values, then the LAWCKET_TABLE and LAWCKET_TTL overrides —
// into one configuration, and each merged value is checked once. The
// fields are validated and compiled by package eval, the one place a
// field's rules live; its errors name the field and key (and the element
// of a literal), which Load maps back to the node they are about. Every
// problem is collected, not only the first: an invalid spec gives Errors,
// each FILE:LINE:COL: path: message (expression errors at their place
// inside the scalar, followed by expr's caret snippet; a bad environment
// value names its variable).
//
// # Limits
//
// A file over MaxFileBytes is refused before it is parsed; a YAML syntax
// error is located in time linear in the file's size; aliases may expand
// literals to at most 100,000 values (the error points at the alias). The
// expression limits (nesting, length, and the per-evaluation budgets) are
// eval's: see the Limits section of package eval.
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
