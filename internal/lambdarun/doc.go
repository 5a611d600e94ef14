// Package lambdarun builds the lawcket-sync bootstrap and runs it as Lambda
// would: under the AWS Lambda Runtime Interface Emulator (aws-lambda-rie)
// when it is installed, else behind the Lambda Runtime API of
// internal/runtimeapi (a runtimeapi.Function, the one `lawcket dev` runs
// handlers behind). It serves the tests of cmd/lawcket-sync and the sync
// demo (examples/syncdemo).
//
// Lifecycle: Start launches one bootstrap process; Close stops it. A
// Function's Invoke calls are serialized (one invocation at a time, as in
// one Lambda execution environment).
package lambdarun
