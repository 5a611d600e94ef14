// Command lawcket-fanout is a ready-made worker Lambda for broadcasts split
// into jobs (package fanout): it consumes an SQS queue of fanout.Job
// messages (events.SQSEvent), runs each job's segment of the connections
// table through the Management API, deletes the rows of gone connections,
// and answers batchItemFailures so that SQS delivers again only the records
// that may safely run again (see package fanout). Each job's report is
// logged as one JSON line on stdout.
//
// Build it as the bootstrap of a provided.al2023 function, with the same
// lawcket.yaml as the connections' Lambda beside it, and give its event
// source mapping FunctionResponseTypes: [ReportBatchItemFailures]:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -tags lambda.norpc -o bootstrap ./cmd/lawcket-fanout
//	zip function.zip bootstrap lawcket.yaml
//
// Environment:
//
//	LAWCKET_CONFIG                the spec (default: lawcket.yaml beside the executable)
//	LAWCKET_TABLE                 overrides table: (applied by package syncspec)
//	LAWCKET_MANAGEMENT_ENDPOINT   the Management API endpoint template (default https://{domainName}/{stage})
//	LAWCKET_METRICS_NAMESPACE     turns on CloudWatch EMF metrics (one line per job, package metrics) in this namespace
//	AWS_REGION, the credentials chain, AWS_ENDPOINT_URL_DYNAMODB: as for any aws-sdk-go-v2 client
//
// The role needs dynamodb:Query, dynamodb:Scan and dynamodb:DeleteItem on
// the table and its indexes, and execute-api:ManageConnections on the API.
//
// Lifecycle: the spec, the table and the clients are built once per
// execution environment, before lambda.Start; an invalid spec fails the
// init (exit status 1, the problems on stderr at FILE:LINE:COL).
package main
