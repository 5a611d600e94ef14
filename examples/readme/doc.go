// Command readme is the program of the README's quick start: the DynamoDB
// sync plugin stores one row per connection, and messages are echoed back to
// their sender. Run it as a Lambda function (or under `lawcket dev`) with
// lawcket.yaml in the working directory.
//
// Lifecycle: everything is built once in main (the spec is loaded and
// compiled, the DynamoDB client created) before ws.Start hands the App to the
// Lambda runtime; the App then serves invocations, which may run concurrently
// when the handler is used outside Lambda.
package main
