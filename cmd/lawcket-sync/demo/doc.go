// Command demo runs the lawcket-sync Lambda end to end on this machine: it
// starts dynalite (a DynamoDB-compatible server, from node_modules), creates
// the table lawcket.yaml describes, builds the bootstrap exactly as for
// provided.al2023, runs it under aws-lambda-rie when installed (else under
// the Lambda Runtime API of internal/devgw, as `lawcket dev` runs handlers), sends a $connect, a message and a
// $disconnect, and prints each response, the DynamoDB requests it caused and
// the stored row; then a $connect the spec refuses (no room): 400 and no row.
//
//	go run ./cmd/lawcket-sync/demo                 # the embedded lawcket.yaml
//	go run ./cmd/lawcket-sync/demo -config my.yaml # your spec (connect.json must satisfy it)
package main
