// Package lawcket is a wrapper for API Gateway WebSocket APIs on AWS Lambda:
// handlers for $connect, messages and $disconnect, middleware, plugins (such
// as the DynamoDB sync in package dynamo), and replies to the sender through
// the API Gateway Management API.
//
//	ws := lawcket.New(lawcket.WithPlugins(sync), lawcket.WithMiddleware(auth))
//	ws.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
//		return ev.Reply(ctx, map[string]string{"echo": string(ev.Body)})
//	})
//	ws.Start()
//
// # Events and routes
//
// Each invocation is one event, typed by requestContext.eventType: CONNECT
// is Connect, MESSAGE is Message, DISCONNECT is Close. A message goes to the
// handler registered with Route for its route key, else to the On(Message)
// handler. A message with neither is answered 404 (a Rejection: logged, no
// Go error). Connect and Close without a handler are answered 200 after the
// plugins ran. An event that is not an API Gateway WebSocket event (no
// requestContext, an unknown eventType, no connectionId) or whose body is
// not valid base64 while isBase64Encoded is answered 400 and logged.
//
// # Order of work
//
// Middleware wraps everything, the first given outermost: a middleware that
// refuses (returns a Rejection without calling next) stops the event before
// any plugin or handler runs — except on $disconnect, where the close
// plugins run whatever the middleware answered (the connection is gone
// either way, and nothing else would clean up after it).
//
// Inside the middleware:
//   - $connect: every ConnectPlugin runs, concurrently, and all are awaited;
//     then the connect handler. If a plugin fails the handler does not run
//     and the client is refused. If the connect is refused after some
//     plugins' OnConnect succeeded (another plugin, the handler or a
//     middleware failed), those plugins' OnClose is called to undo it, since
//     no $disconnect comes for a connection that was never established.
//     When a connect plugin can be undone this way, middleware, plugins and
//     the handler see ctx with part of the event's deadline held back (a
//     fifth, 50 ms to 1 s), and the rollback runs in that reserve, within
//     the event's deadline, even when ctx was cancelled.
//   - message: every MessagePlugin runs concurrently, all awaited; then the
//     route's handler, unless a plugin failed.
//   - $disconnect: the close handler first, then every ClosePlugin
//     concurrently (they run even when the handler failed; errors are
//     joined). $disconnect is best-effort: API Gateway may never send it, so
//     stored state needs a TTL.
//
// Every goroutine is awaited before the handler returns (Lambda freezes the
// environment after return). A panic in a middleware, handler or plugin is
// recovered, logged with its stack and answered as a fault.
//
// # Outcomes
//
// One function maps outcomes to responses:
//
//	outcome                                    status       Go error to Lambda
//	nil                                        200          no
//	*Rejection (Reject, DecodeJSON, plugins)   its status   no
//	malformed event, invalid base64            400          no
//	message route without handler              404          no
//	any other error, a panic                   500          yes
//	invalid configuration (App.Err)            500          yes
//	payload that is not an event's JSON        400          no
//
// Start runs the App as a lambda.Handler (App.Invoke) that decodes the
// payload itself, so a payload with a wrong JSON type (a numeric
// connectionId) is answered 400 naming the field instead of failing in
// aws-lambda-go's decoder; and Start refuses to run a misconfigured App: it
// logs every configuration error and exits 1, so Lambda reports a failed
// init.
//
// An error counts as a refusal only when every error in its tree (through
// Unwrap) ends in a *Rejection; an error that joins a Rejection and a fault
// is a fault. Refusals are expected outcomes and do not show in Lambda's
// error metrics; faults do. On $connect a Go error makes API Gateway refuse
// the client with 500, which is the answer lawcket gives anyway; on messages
// and $disconnect the response status mostly goes nowhere, so the Go error is
// what makes a failure visible (Lambda Errors metric, logs). Rejection
// bodies carry the reason to the client; 500 bodies never carry the error
// text, which is logged instead.
//
// # Replies and the Management API
//
// Event.Reply posts to the event's own connection through the App's
// Management API client, a *mgmt.Client given with WithManagement (share it
// with broadcast) or built by default; during $connect it returns
// ErrNotEstablished without a request. The endpoint is
// https://{domainName}/{stage} unless mgmt.WithEndpoint or the environment
// variable LAWCKET_MANAGEMENT_ENDPOINT gives a template (see mgmt.Endpoint);
// behind a custom domain use
// https://{apiId}.execute-api.REGION.amazonaws.com/{stage}. Requests are
// signed with SigV4 by aws-sdk-go-v2; failures are classified as
// mgmt.ErrGone, mgmt.ErrForbidden, mgmt.ErrPayloadTooLarge,
// mgmt.ErrLimitExceeded and mgmt.ErrAmbiguous.
//
// # Subprotocols
//
// Event.Subprotocols lists what the client offered in Sec-WebSocket-Protocol.
// With WithSubprotocols the App picks the first supported one in server
// preference order and echoes it in the $connect response; middleware or the
// connect handler may pick another with Event.SetSubprotocol. If the client
// offers subprotocols and none is supported, the connect is refused with 400
// (browsers fail a handshake whose response does not echo one of the offered
// protocols). Without WithSubprotocols nothing is chosen unless a handler
// calls SetSubprotocol.
//
// # Lifecycle and concurrency
//
// Build the App once, in main (not per invocation and not in init), register
// handlers, then call Start. New does no I/O; the AWS config is loaded on the
// first Reply (or given to mgmt.New with mgmt.WithAWSConfig) and one SDK
// client is kept per endpoint. An App's handler, and a mgmt.Client, are safe for concurrent
// use. An Event belongs to one invocation; plugins, which run concurrently,
// must treat it as read-only. Logs go to the WithLogger logger (default
// slog.Default()) with connectionId, requestId and routeKey attributes; the
// package never prints.
package lawcket
