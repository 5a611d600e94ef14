// Package lawckettest is a test kit for code built on lawcket: API Gateway
// WebSocket events shaped as API Gateway sends them, and a recording
// Management API server that the real SDK client talks to.
//
// # Events
//
// Connect, Message and Disconnect return aws-lambda-go's
// events.APIGatewayWebsocketProxyRequest, shaped like the events API Gateway
// delivers to a Lambda proxy integration (compared in this package's tests
// with aws-lambda-go's own events/testdata fixtures):
//
//   - $connect: the handshake headers in headers and multiValueHeaders with
//     the client's casing (Host, Sec-WebSocket-Key, Sec-WebSocket-Version,
//     Sec-WebSocket-Extensions, User-Agent, X-Amzn-Trace-Id,
//     X-Forwarded-*); query-string maps only when Query or EmptyQuery is
//     given (API Gateway omits them for a URL without a query string);
//     requestContext with routeKey, eventType CONNECT, the connection's ids
//     and times, identity, and authorizer when Authorizer is given.
//   - messages: no headers and no query, routeKey $default or Route's,
//     eventType MESSAGE, a messageId, the body as text (Base64 for
//     isBase64Encoded).
//   - $disconnect: Host, x-api-key, X-Forwarded-For and x-restapi headers,
//     eventType DISCONNECT, disconnectStatusCode and disconnectReason.
//
// Defaults are fixed (DefaultConnectionID, DefaultConnectedAt, …), so built
// events are the same in every run. JSON gives the raw payload Lambda would
// deliver, and Invoke runs a handler on it through lambda.NewHandler, the
// decoding path of the Lambda runtime.
//
// # Management API server
//
// NewServer starts a local HTTP server speaking the Management API's wire
// protocol: POST (PostToConnection), GET (GetConnection) and DELETE
// (DeleteConnection) on /{stage}/@connections/{connectionId}, errors typed in
// x-amzn-ErrorType and the body's __type (GoneException,
// LimitExceededException, PayloadTooLargeException, ForbiddenException),
// payloads over MaxPayload refused with 413. Server.Client returns a real,
// SigV4-signing apigatewaymanagementapi client for it; Server.Endpoint gives
// the endpoint for any other client.
//
// Each connection can be scripted, one Behavior per request: Answer(status)
// for 200/403/410/413/429/500, DeliverThen(500) (delivered, then failed),
// ResetBeforeDelivery and ResetAfterDelivery (the TCP connection is reset),
// After(d) to answer late — after the caller's deadline, still delivering —
// and Times(n, b) for "n×429 then 200". The server records every request
// with how it was answered and whether its payload was delivered
// (Requests, Posts, Delivered, Deleted), so a test can assert exactly what a
// client received, duplicates included.
//
// # Lifecycle and concurrency
//
// Build events freely: they share nothing. A Server is safe for concurrent
// use; build one per test and Close it (t.Cleanup(s.Close)). Close waits for
// requests in flight, delayed ones included.
package lawckettest
