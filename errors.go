package lawcket

import "errors"

// Errors of the Management API, classified once (test with errors.Is).
var (
	ErrGone            = errors.New("lawcket: connection gone (410)")
	ErrForbidden       = errors.New("lawcket: forbidden (403)")
	ErrPayloadTooLarge = errors.New("lawcket: payload too large (413)")
	ErrLimitExceeded   = errors.New("lawcket: limit exceeded (429)")
	ErrNotEstablished  = errors.New("lawcket: cannot post to a connection during its $connect")
)

// Rejection refuses an event with an HTTP status (on $connect, API Gateway
// then refuses the client).
type Rejection struct {
	Status int
	Reason string
}

func (r *Rejection) Error() string { return "" }

// Reject returns a *Rejection.
func Reject(status int, reason string) error { return &Rejection{Status: status, Reason: reason} }
