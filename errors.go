package lawcket

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrNotEstablished is returned by Event.Reply during $connect, without
	// a request: API Gateway answers 410 until $connect has returned.
	ErrNotEstablished = errors.New("lawcket: cannot post to a connection during its $connect")
)

// Rejection refuses an event with an HTTP status (on $connect, API Gateway
// then refuses the client). The response carries Status and a text body
// with Reason. A Rejection is an expected outcome, not a fault: the Lambda
// invocation returns no Go error for it (see the package documentation).
//
// Status must be a 4xx or 5xx code; any other value is treated as a fault
// (500, logged, returned to Lambda).
type Rejection struct {
	Status int
	Reason string
	// Err is the cause, if any (for example the *json.SyntaxError behind a
	// DecodeJSON refusal); it is reachable with errors.Is / errors.As.
	Err error
}

// Error returns "lawcket: rejected with STATUS: REASON".
func (r *Rejection) Error() string {
	if r.Reason == "" {
		return fmt.Sprintf("lawcket: rejected with %d (%s)", r.Status, http.StatusText(r.Status))
	}
	return fmt.Sprintf("lawcket: rejected with %d: %s", r.Status, r.Reason)
}

// Unwrap returns the cause.
func (r *Rejection) Unwrap() error { return r.Err }

// Reject returns a *Rejection: returned from a handler, middleware or
// plugin, the response gets status and a body with reason.
func Reject(status int, reason string) error { return &Rejection{Status: status, Reason: reason} }

// StatusOf returns the HTTP status the App answers for err, the outcome of
// its handler chain: 200 for nil; for a refusal (every branch of err's
// tree a *Rejection with a 4xx or 5xx status) the first Rejection's
// status; 500 for anything else (a fault). A Middleware that records
// outcomes calls it on what next returned (package metrics does).
func StatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if rej, fault := classify(err); !fault {
		return rej.Status
	}
	return http.StatusInternalServerError
}

// validStatus reports whether a Rejection's status can be answered as-is.
func validStatus(status int) bool { return status >= 400 && status <= 599 }

// classify decides how an error from the pipeline is answered. It is a
// refusal only when every branch of its tree (through Unwrap() error and
// Unwrap() []error) ends in a *Rejection with a valid status; the first such
// Rejection gives the status. Anything else is a fault (500).
func classify(err error) (rej *Rejection, fault bool) {
	var first *Rejection
	var walk func(error) bool // false when a fault is found
	walk = func(e error) bool {
		if r, ok := e.(*Rejection); ok {
			if !validStatus(r.Status) {
				return false
			}
			if first == nil {
				first = r
			}
			return true
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			errs := u.Unwrap()
			if len(errs) == 0 {
				return false
			}
			for _, c := range errs {
				if c != nil && !walk(c) {
					return false
				}
			}
			return true
		case interface{ Unwrap() error }:
			if c := u.Unwrap(); c != nil {
				return walk(c)
			}
		}
		return false
	}
	if err == nil {
		return nil, false
	}
	if !walk(err) || first == nil {
		return nil, true
	}
	return first, false
}
