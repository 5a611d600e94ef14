// Package devgw is the local API Gateway WebSocket gateway behind
// `lawcket dev`: it runs the user's real handler binary (an unmodified
// lambda.Start program) behind a WebSocket server that produces the events
// API Gateway produces, and answers the Management API (@connections) the way
// API Gateway does.
//
// # What it emulates
//
//   - Each WebSocket handshake becomes a $connect event
//     (events.APIGatewayWebsocketProxyRequest) with the handshake's headers in
//     the client's casing (recorded from the raw request; Go's server would
//     canonicalize them), minus Connection and Upgrade, plus Host,
//     X-Forwarded-For/-Port/-Proto and X-Amzn-Trace-Id; query-string maps only
//     when there is a query string; a requestContext with API-Gateway-shaped
//     ids (requestId equal to extendedRequestId, as in AWS's events).
//     Config.BeforeConnect runs first (where API Gateway runs a $connect
//     authorizer): it may refuse the handshake or set the
//     requestContext.authorizer of every event of the connection. The
//     handshake completes only after $connect answers 2xx; any other status
//     refuses it with that status and body; a Sec-WebSocket-Protocol
//     response header selects the subprotocol.
//   - Messages are routed by the route selection expression
//     ($request.body.action) applied to JSON text bodies: a string value
//     names the route; with Config.Routes declared, a value that names no
//     route, a non-string value or a body that is not a JSON object goes to
//     $default, and without a $default route the client gets the error
//     frame {"message":"Forbidden","connectionId":...,"requestId":...}.
//     A route listed in Config.RouteResponses sends the function's returned
//     body back to the client. A binary frame closes the connection with
//     1003 and is not delivered; a frame over 32 KB closes it with 1009 and
//     its message is not delivered (Config.NoFrameLimit turns that off); a
//     message over 128 KB closes it with 1009. The messages of one
//     connection are delivered one at a time, in order.
//   - When a connection ends (client close, dropped TCP, DeleteConnection, idle
//     timeout, maximum lifetime, gateway shutdown) $disconnect is sent with
//     disconnectStatusCode and disconnectReason.
//   - The Management API (POST/GET/DELETE /{stage}/@connections/{id}) is on
//     the same port: 410 GoneException for unknown or closed ids, 413
//     PayloadTooLargeException over 128 KB; a connection the gateway is
//     closing (DeleteConnection, a timeout) is gone at once for Post, Get and
//     Delete alike. A posted payload is sent as a text frame when it is valid
//     UTF-8, else as a binary frame. A SigV4-shaped Authorization header is
//     required (403 "Missing Authentication Token" without), as on AWS; any
//     credentials are accepted, so the SDK's clients work unchanged.
//   - A local tool is attack surface: only loopback Host names and Addr's
//     host are served (against DNS rebinding), a request with a foreign
//     Origin is refused (Config.AllowOrigins adds origins), and static files
//     are served through an os.Root, without dotfiles or directory listings.
//   - DynamoDB is embedded (internal/localdynamo, in memory, on a loopback
//     port) unless Config.DynamoDBEndpoint names another; the spec's table
//     and GSIs are created at Start.
//   - The handler runs behind the Lambda Runtime API of internal/runtimeapi,
//     in Config.Concurrency processes.
//   - An API with several functions (a SAM template's, `lawcket dev
//     --template`): each Config.Functions entry has its own processes and
//     environment, Config.RouteFunctions says which runs each route key, and
//     a route with no function is not invoked ($connect is then accepted,
//     as on AWS without a $connect route); Config.Tables are created at
//     Start with their GSIs and TTL.
//
// # Lifecycle
//
// New validates a Config. Start listens, starts DynamoDB, creates the table
// and starts Config.Concurrency handler processes, each with its own Lambda
// Runtime API endpoint on loopback (AWS_LAMBDA_RUNTIME_API); it returns once
// connections are accepted. A connect that arrives before a process is ready
// waits for one (WaitReady waits explicitly). A process handles one
// invocation at a time, like a Lambda execution environment; all processes
// take invocations from one queue. A process that exits is restarted (with a
// growing delay while it keeps failing its init); the invocation it held is
// answered with runtimeapi.ErrCrashed (502 on $connect, an error frame on a message).
// While no process is healthy and the last start failed, connects are refused
// with 502 at once and the init error is logged with the process's output.
// An invocation not answered within Config.Timeout is answered 504 and its
// process is killed, as Lambda ends a timed-out environment.
//
// The handler processes and their Runtime API are a runtimeapi.Function,
// usable without the gateway (the lawcket-sync tests and the sync demo run a
// bootstrap through it).
//
// Close closes every connection with 1001 (each sends $disconnect, while the
// Management API still answers), then stops the server, the processes
// (SIGTERM, then SIGKILL after 2 s) and DynamoDB.
//
// # Concurrency
//
// A Gateway's methods are safe for concurrent use. Each connection has one
// goroutine reading its messages in order; posts to a connection are written
// one at a time, in the order they arrive, and a post that cannot be written
// within 10 s closes the connection and answers 410.
//
// # Known differences from AWS
//
// Only the Lambda proxy integration is emulated. The 32 KB frame limit is
// enforced by following the frame headers on the raw connection, which is
// possible when the handshake is the first request of its TCP connection
// (the normal case; otherwise the gateway logs that it cannot). Rate limits
// (500 new connections/s, 429 LimitExceeded) are not emulated; signatures
// are not verified. disconnectReason texts are close to,
// not byte-identical with, AWS's. Client header casing is exact for a
// handshake that is the first request on its TCP connection (the normal case);
// otherwise names are Go's canonical form.
package devgw
