package mgmt

import (
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Errors of the Management API, classified once by the Client (test with
// errors.Is; the SDK's error stays in the chain for errors.As).
var (
	// ErrGone: the connection no longer exists (HTTP 410, GoneException).
	// Broadcast deletes the row of a connection that answers this.
	ErrGone = errors.New("connection gone (410)")
	// ErrForbidden: the credentials may not call this API (HTTP 403), often
	// a wrong endpoint or a missing execute-api:ManageConnections grant.
	ErrForbidden = errors.New("forbidden (403)")
	// ErrPayloadTooLarge: the message exceeds the frame/message limit
	// (HTTP 413, PayloadTooLargeException).
	ErrPayloadTooLarge = errors.New("payload too large (413)")
	// ErrLimitExceeded: throttled, or the client's buffer is full (HTTP 429,
	// LimitExceededException). The request was not carried out.
	ErrLimitExceeded = errors.New("limit exceeded (429)")
	// ErrAmbiguous: the last attempt's request may have reached API Gateway
	// and been carried out, but no definite answer came back (a 5xx answer,
	// the connection reset or closed after the request was written, a
	// timeout). For a post, the connection may or may not have the payload.
	ErrAmbiguous = errors.New("outcome unknown: the request may have been carried out")
)

// Op names a Management API operation in an Error.
type Op string

// The operations.
const (
	OpPost   Op = "post"   // PostToConnection
	OpGet    Op = "get"    // GetConnection
	OpDelete Op = "delete" // DeleteConnection
)

// Error is a failed Management API call, after its retries. errors.Is finds
// its sentinel (ErrGone, ErrForbidden, ErrPayloadTooLarge, ErrLimitExceeded,
// ErrAmbiguous; none for other failures) and the causes (the SDK's error,
// context.Canceled, ...).
type Error struct {
	Op           Op
	ConnectionID string
	// Attempts is the number of HTTP attempts made (0 when none could be
	// made, for example with a bad endpoint or an already-ended context).
	Attempts int
	// Kind is the sentinel, or nil.
	Kind error
	// Err is the underlying error (the SDK's, or the Client's own).
	Err error
}

// Error returns "mgmt: OP ID: KIND: ERR (N attempts)".
func (e *Error) Error() string {
	prefix := fmt.Sprintf("mgmt: %s %s", e.Op, e.ConnectionID)
	if e.Kind != nil {
		prefix += ": " + e.Kind.Error()
	}
	switch e.Attempts {
	case 0:
		return fmt.Sprintf("%s: %v", prefix, e.Err)
	case 1:
		return fmt.Sprintf("%s: %v (1 attempt)", prefix, e.Err)
	}
	return fmt.Sprintf("%s: %v (%d attempts)", prefix, e.Err, e.Attempts)
}

// Unwrap returns the sentinel (if any) and the cause.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// kindOf maps a Management API error to a sentinel from the error's code,
// else its HTTP status, else the last status seen (status, 0 if none). A 404
// is deliberately not ErrGone: it usually means a wrong endpoint (one
// without the stage path), and treating it as gone would make a broadcast
// delete every row.
func kindOf(err error, status int) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "GoneException":
			return ErrGone
		case "ForbiddenException", "AccessDeniedException":
			return ErrForbidden
		case "PayloadTooLargeException":
			return ErrPayloadTooLarge
		case "LimitExceededException", "TooManyRequestsException":
			return ErrLimitExceeded
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	switch status {
	case http.StatusGone:
		return ErrGone
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusRequestEntityTooLarge:
		return ErrPayloadTooLarge
	case http.StatusTooManyRequests:
		return ErrLimitExceeded
	}
	return nil
}

// isThrottle reports whether err is a 429 / LimitExceededException.
func isThrottle(err error) bool { return kindOf(err, 0) == ErrLimitExceeded }
