// Command lawcket-sync is a ready-made WebSocket Lambda that needs no user
// code: it keeps one DynamoDB row per connection as lawcket.yaml describes
// (package dynamo). $connect stores the row (or refuses the client with 400
// when the spec refuses it, 500 when DynamoDB fails); $disconnect deletes
// it; every message is answered 200 and nothing else happens. When the spec
// has a channels: section, the channels plugin (package channels) is
// installed too: its routes subscribe, unsubscribe, publish and presence
// answer clients, and $disconnect also removes the connection's
// subscriptions.
//
// An EventBridge scheduled event (source aws.events, detail-type "Scheduled
// Event", e.g. a rate(15 minutes) schedule) runs a sweep instead
// (channels.Sweeper): every stored connection is checked with GetConnection,
// at most LAWCKET_SWEEP_RATE per second, and the rows and subscriptions of
// those that answer 410 are removed; the invocation returns the report.
//
// Build it as the bootstrap of a provided.al2023 function and ship
// lawcket.yaml beside it:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -tags lambda.norpc -o bootstrap ./cmd/lawcket-sync
//	zip function.zip bootstrap lawcket.yaml
//
// Environment:
//
//	LAWCKET_CONFIG   the spec (default: lawcket.yaml beside the executable)
//	LAWCKET_TABLE    overrides table: (applied by package syncspec)
//	LAWCKET_TTL      overrides ttl:
//	LAWCKET_SWEEP_RATE  GetConnection calls per second of a scheduled sweep (default 50)
//	LAWCKET_MANAGEMENT_ENDPOINT  the Management API endpoint template (replies, publishes, sweeps)
//	LAWCKET_METRICS_NAMESPACE  turns on CloudWatch EMF metrics (package metrics) of each
//	                 $connect and $disconnect — Accepted, Refused, Failed, Duration by
//	                 Stage and EventType; Events by Status — one line each on stdout
//	AWS_REGION, the credentials chain, AWS_ENDPOINT_URL_DYNAMODB: as for any
//	aws-sdk-go-v2 client
//
// Lifecycle: the spec is loaded and compiled, and the DynamoDB client built,
// once per execution environment, in main before lambda.Start. An invalid
// spec fails the init: every problem is logged at FILE:LINE:COL, reported to
// the Lambda Runtime API as an init error, and the process exits with status 1.
package main
