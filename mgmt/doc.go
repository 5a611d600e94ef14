// Package mgmt is the client of the API Gateway Management API (the
// @connections API): post to a connection (PostToConnection), read it
// (GetConnection), close it (DeleteConnection). It imports only the AWS SDK.
//
// # Endpoints
//
// A Target names a connection and the API/stage it belongs to. The
// endpoint of a target is a template with {domainName}, {stage} and {apiId}
// placeholders: WithEndpoint, else $LAWCKET_MANAGEMENT_ENDPOINT, else
// https://{domainName}/{stage} (see Endpoint). Behind a custom domain use
// https://{apiId}.execute-api.REGION.amazonaws.com/{stage}; for the local
// gateway (lawcket dev) http://127.0.0.1:PORT/local. Requests are signed
// with SigV4 for execute-api by the SDK.
//
// # Errors
//
// Every failure is an *Error with the operation, the connection id and the
// number of HTTP attempts; errors.Is finds its kind: ErrGone (410),
// ErrForbidden (403), ErrPayloadTooLarge (413), ErrLimitExceeded (429, still
// throttled after the retries) or ErrAmbiguous (no definite answer after
// the request may have been carried out), and errors.As the SDK's error
// types. A 404 is not ErrGone: it means a wrong endpoint.
//
// # Retries and the delivery contract
//
// One retry policy, Retry, is carried out by the SDK's standard retryer,
// built per call with the policy's attempts, backoff and retryable test and
// without the SDK's shared retry token bucket: failures of other calls never
// take a call's retries away. Set the default with WithRetry and tune one
// call by passing a Retry to it.
//
// PostToConnection is not idempotent: a payload that reached API Gateway is
// delivered even when the answer is lost. So, by default (AtMostOnce), a post
// is resent only when it was certainly not carried out: a 429
// LimitExceeded answer, or a connection that could not be opened (nothing
// was written). A 5xx answer, a connection reset or closed after the
// request was written, or a timeout fails with ErrAmbiguous and is not
// resent: the connection received the payload at most once, and the error
// says it may have. Delivery AtLeastOnce resends those too: the payload is
// then delivered unless every attempt fails, and may arrive twice. Get and
// Delete are idempotent and always retry ambiguous failures.
//
// Result.Attempts (and Error.Attempts) count every HTTP attempt, counted
// inside the SDK's retry loop.
//
// # Lifecycle and concurrency
//
// Build one Client per process (New does no I/O; the default AWS config is
// loaded by the first call) and share it: the App's Reply and broadcast can
// use the same one (lawcket.WithManagement). It keeps one SDK client per
// endpoint, whose HTTP client keeps DefaultMaxIdleConnsPerHost idle
// connections per endpoint. A Client is safe for concurrent use.
package mgmt
