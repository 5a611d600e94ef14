// Command chat is a complete chat Lambda built on lawcket: rooms as channels
// (package channels) that clients join and leave while connected, who is in
// the room (presence), and messages to everyone in a room.
//
// Clients connect with ?user=U&room=R. The sync plugin (package dynamo) stores
// one row per connection with the fields of lawcket.yaml; a connect without a
// room is refused with 400 before any code here runs, and the connect handler
// subscribes the connection to the channel /rooms/R. While connected, a client
// joins and leaves rooms with the channels protocol ({"action":"subscribe",
// "id":"1","channel":"/rooms/other"}, unsubscribe, presence; see package
// channels); the rooms namespace tracks presence by user, so the others get
// join and leave frames and two tabs of one user are one member.
//
// A message {"action":"send","room":"R","text":"…"} (route key "send",
// selected by $request.body.action; room defaults to the connect's) is
// published to /rooms/R when the sender is subscribed to it: every subscriber,
// the sender included, gets {"type":"data","channel":"/rooms/R",…,"event":
// {"user":"U","room":"R","text":"…"}}. The sender's user is read from its own
// row: a message carries no query string, and the client is not trusted to
// name itself. Clients cannot publish to rooms directly (the namespace has no
// publish rule). Any other message is answered with an error frame
// {"error":"…"} to the sender only.
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
