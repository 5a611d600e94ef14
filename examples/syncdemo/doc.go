// Command syncdemo runs the lawcket-sync Lambda end to end on this machine:
// it starts dynalite (a DynamoDB-compatible server, from node_modules),
// creates the table lawcket.yaml describes, builds the bootstrap exactly as
// for provided.al2023, runs it under aws-lambda-rie when installed (else
// under the Lambda Runtime API of internal/runtimeapi, as `lawcket dev` runs
// handlers), sends a $connect, a message and a $disconnect, and prints each response, the DynamoDB requests it caused and
// the stored row; then a $connect the spec refuses (no room): 400 and no row.
//
//	make demo                                  # = go run ./examples/syncdemo, after make deps
//	go run ./examples/syncdemo                 # the embedded lawcket.yaml
//	go run ./examples/syncdemo -config my.yaml # your spec (connect.json must satisfy it)
package main
