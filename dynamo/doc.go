// Package dynamo keeps one DynamoDB row per open WebSocket connection, as a
// lawcket plugin described by a lawcket.yaml spec (package syncspec).
//
// On $connect the Plugin evaluates the spec's fields over the connect event
// (BuildItem) and writes the row with exactly one PutItem; on $disconnect it
// deletes the row with exactly one DeleteItem; messages cause no DynamoDB
// request at all. Table.Connections reads rows back (a Query on an
// index: true field's GSI, or a Scan), every page, streamed, skipping rows
// whose expiresAt has passed; it is what broadcast builds on. Table.Get
// reads one connection's row (a consistent GetItem), e.g. the sender's.
//
// # Rows
//
// A row holds the evaluated fields and the reserved attributes connectionId
// (the partition key), domainName, stage, connectedAt (N, epoch ms) and,
// when the spec has a ttl, expiresAt (N, epoch seconds). Reserved attributes
// are written last: no field, header or query value can overwrite them.
// TableDefinition creates the table (one GSI per index: true field, named by
// IndexName); TimeToLiveInput enables TTL on expiresAt.
//
// # Sharded index fields
//
// An index field with shards: S (a very hot room) keeps its plain value
// (room = lobby) and gets a second attribute, its GSI key: ShardAttr
// (room#shard) = ShardKey (lobby#k), k = ShardOf(connectionId, S), FNV-1a
// 32 of the id mod S. The GSI is ShardIndexName (room-shard-index). Both
// attributes are in the connect's one PutItem. A Selector of the field
// reads all S shards (one Query each; each row once, as each row has one
// key); one with Shard of Shards reads one shard, so that S jobs
// (fanout.Plan) partition the room. Raising S is safe for a live table:
// the key does not depend on S, and rows written under a smaller S have a
// k below it. Lowering S leaves the rows whose k is at least the new S
// out of broadcasts until their connections close (at most 2 hours).
//
// # Lifecycle
//
// Build the Plugin (or Table) once, in main, before lambda.Start — not in
// init() and not per invocation: the DynamoDB client and the compiled spec
// are reused by every invocation of the execution environment. Without
// WithClient the client comes from config.LoadDefaultConfig, so AWS_REGION,
// the credentials chain and AWS_ENDPOINT_URL_DYNAMODB apply unchanged.
//
// A client is never accepted without its row: a refusal from the spec is a
// 400 *lawcket.Rejection (no request is made), and a PutItem that still fails
// after the SDK's retries — bounded by the invocation's deadline through ctx
// — is returned as an error, which the wrapper answers with 500, so API
// Gateway refuses the client.
//
// A failed PutItem may still have been applied (its answer lost to a reset,
// a truncated body, or the deadline), so every failure but DynamoDB's
// outright refusals is followed by one compensating DeleteItem: a refused
// client leaves no row whenever DynamoDB can be reached. The PutItem runs
// with part of the remaining time held back (a fifth, 50 ms to 1 s) and the
// DeleteItem runs in it, even after ctx was cancelled.
//
// # Retries
//
// Requests go through the client's retryer as configured (DynamoDB's
// default: 4 attempts), bounded by ctx. Two things differ from a plain SDK
// call, both per call: the retries do not draw from the SDK's retry quota,
// the token bucket one client shares across all its requests (a burst of
// throttled requests would otherwise leave every later request of the
// client without retries), and a truncated answer is retried too (every
// request here is idempotent).
//
// $disconnect is best-effort: API Gateway may never deliver it (network loss,
// a crashed client, a throttled or failed invocation), and a failed
// DeleteItem is only returned (the wrapper logs it). Stale rows are expected:
// give the spec a ttl so DynamoDB expires them (Connections already skips
// them before DynamoDB gets round to deleting them), and let broadcasts
// delete rows whose connection answers 410 Gone.
//
// # Concurrency
//
// A Plugin and a Table are safe for concurrent use by multiple goroutines;
// they hold no per-connection state.
//
// # Errors
//
// SDK errors are classified once, here, into the sentinels ErrTableNotFound,
// ErrThrottled, ErrConditionFailed, ErrItemTooLarge and ErrInvalidRequest,
// which wrap the SDK's original error (test with errors.Is; errors.As still
// finds the smithy.APIError).
package dynamo
