// Package channels adds channels and presence to a lawcket App: connections
// subscribe to and unsubscribe from channels while connected, under rules
// declared in lawcket.yaml's channels: section, and publishes reach the
// subscribers of the channel through package broadcast.
//
// A channel is a path of up to five segments, the first naming its
// namespace: /rooms/lobby, /news/sports/live. A subscription path may end in
// the wildcard * (/news/*), which receives what is published to any channel
// below it. Each namespace has a subscribe rule (default true), a publish
// rule for clients (default false), optional presence tracking and a shard
// count; the rules are expressions compiled once (eval.CompileRule) over
// connection (the connection's row), authorizer and channel.
//
//	ch, err := channels.New(ctx, spec, sync.Table())
//	ws := lawcket.New(lawcket.WithPlugins(sync), ch.Install())
//	...
//	rep, err := ch.Publish(ctx, "/rooms/lobby", []byte(`{"text":"hi"}`))
//
// # Client protocol
//
// Install registers the routes subscribe, unsubscribe, publish and presence
// (selected by $request.body.action). Every request may carry an id, and
// is answered on the requester's connection with TYPE_success or
// TYPE_error carrying that id:
//
//	→ {"action":"subscribe","id":"1","channel":"/rooms/lobby"}
//	← {"type":"subscribe_success","id":"1","channel":"/rooms/lobby","presence":{…}}
//	← {"type":"subscribe_error","id":"1","channel":"/rooms/lobby","errors":[{"errorType":"Unauthorized","message":"…"}]}
//	→ {"action":"publish","id":"2","channel":"/rooms/lobby","event":{"text":"hi"}}
//	← {"type":"publish_success","id":"2","channel":"/rooms/lobby","sent":3,"failed":0}
//	← {"type":"data","channel":"/rooms/lobby","subscription":"/rooms/*","event":{"text":"hi"}}
//	← {"type":"join","channel":"/rooms/lobby","member":{"key":"ann","fields":{"user":"ann"},"connections":["…"]}}
//
// A denied subscription stores nothing. docs/channels.md has the whole
// protocol, the storage layout and its costs.
//
// # Storage
//
// Subscriptions live in their own table (the connections table keeps
// connectionId as its only key): partition key channel (the subscription
// path, or PATH#SHARD in a sharded namespace), sort key subscriber (the
// connection id, or m#MEMBER#connectionId in a presence namespace), and the
// GSI ConnectionIndex on connectionId, through which a $disconnect, a 410
// or a sweep finds every subscription of a connection. Items expire by TTL
// (expiresAt) when no $disconnect comes. A publish reads only the
// subscribers of the paths that match it — one Query per shard of the
// channel and of each wildcard above it — never a Scan.
//
// # Lifecycle and concurrency
//
// Build the Plugin once, in main, next to the dynamo plugin; it holds its
// DynamoDB client, its broadcast.Sender and the compiled rules, and is safe
// for concurrent use. Every call returns only when the posts and deletes it
// started are done (no goroutine outlives it). $disconnect is best-effort:
// subscriptions also expire by TTL, a publish that meets a 410 removes that
// connection's row and subscriptions, and a Sweeper (`lawcket sweep`, or
// lawcket-sync on a schedule) removes the rest.
package channels
