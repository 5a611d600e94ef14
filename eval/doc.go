// Package eval compiles and evaluates the fields of a lawcket.yaml: literal
// values and expr-lang expressions over a $connect event, producing the
// extra attributes of a connection's row.
//
// # Lifecycle
//
// Compile is called once, at init (syncspec.Load calls it): every
// expression is type-checked against the typed environment, then compiled
// to the bytecode that runs against one where values that may be missing
// (query and header values, unset env variables) are nil-safe; literals
// are normalized and stored as values. Evaluate is called once per
// connection: it builds one environment from the event — only the parts
// the expressions read — and evaluates every field against it.
//
// # The environment
//
// Expressions see exactly these names (plus expr's builtins such as lower,
// upper, split, trim, now and duration); any other name is a compile error:
//
//   - query: map of query-string values; a missing key gives nil, so
//     `query.user ?? "anonymous"` works; no query string gives an empty map.
//   - queryAll: map of lists (multiValueQueryStringParameters).
//   - headers: header values by lower-cased name; missing gives nil.
//   - headersAll: lists of header values by lower-cased name.
//   - authorizer: requestContext.authorizer as API Gateway delivers it
//     (principalId and the authorizer's context, whose values API Gateway
//     stringifies); an empty map without an authorizer.
//   - requestContext: connectionId, stage, domainName, apiId, routeKey,
//     requestId, connectedAt and requestTimeEpoch (ints, epoch ms),
//     identity.sourceIp and identity.userAgent.
//   - env: only the variables of Options.Env (the spec's env: allowlist).
//
// Nothing else of the process is visible: no other environment variable,
// no files, no network. Query and header values are data, never code, and
// a field can never be one of the reserved attributes (see IsReserved).
//
// # Results
//
// Evaluate returns plain Go values DynamoDB can store: string, int (uint64
// above math.MaxInt64), float64, bool, []any and map[string]any (nil only
// inside lists and maps). An optional field whose expression gives nil or
// fails is omitted; Default replaces nil, a failure or a wrong kind; a
// Required field that has no value refuses the connection with a *Refusal
// naming the field. A value of the wrong kind (Type) or one DynamoDB cannot
// store also refuses the connection, unless there is a Default.
//
// # Concurrency
//
// A Program is immutable after Compile and safe for concurrent use:
// Evaluate takes a vm.VM and the environment's maps from a sync.Pool, so no
// VM is ever shared between goroutines.
//
// # Limits
//
// Nothing a spec or a client sends can exhaust memory or time. At compile
// time an expression longer than MaxExprBytes, or nesting brackets or
// prefix operators deeper than MaxNesting, is refused (positioned) before
// expr parses it; its size is bounded by Options.MaxNodes; and an
// expression that reads nothing of the event is run once, so that one that
// always fails (a string over the budget, an overflow) is refused then.
// At run time each expression's VM allocations are bounded by
// Options.MemoryBudget, and one evaluation (all fields of a connect) by
// MaxStringBytes of built strings and MaxSteps predicate steps; integer
// + - * (binary and unary), abs and sum fail on overflow. A field that hits a limit fails like
// any failed expression (its Default, else a *Refusal if Required, else
// omitted and logged); the error satisfies errors.Is(err, ErrLimit).
package eval
