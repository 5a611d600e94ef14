// Command chat is a complete chat Lambda built on lawcket: rooms, user names
// and a broadcast to everyone in the sender's room.
//
// Clients connect with ?user=U&room=R. The sync plugin (package dynamo) stores
// one row per connection with the fields of lawcket.yaml; a connect without a
// room is refused with 400 before any code here runs. A message
// {"action":"send","text":"…"} (route key "send", selected by
// $request.body.action) is posted to every connection of the sender's room,
// the sender included, as {"user":"U","room":"R","text":"…"}. The sender's
// user and room are read from its own row: a message carries no query string,
// and the client is not trusted to name its room. Any other message is
// answered with an error frame {"error":"…"} to the sender only.
//
// Lifecycle: main loads the spec, builds the AWS clients, the sync plugin and
// the broadcaster once, then hands the App to lambda.Start. Every handler is
// safe for concurrent use; nothing is kept between invocations but those
// clients.
//
// Run it locally (nothing else to install) from its SAM template,
// template.yaml, which `lawcket dev --template` builds and runs (`make chat`):
//
//	go run ./cmd/lawcket dev --rows --template examples/chat/template.yaml -c examples/chat/lawcket.yaml --static examples/chat/static
//
// or the binary directly:
//
//	go build -o bin/chat ./examples/chat
//	go run ./cmd/lawcket dev --rows -c examples/chat/lawcket.yaml --static examples/chat/static -- ./bin/chat
//
// and open http://127.0.0.1:8080/ in two browser tabs.
package main
