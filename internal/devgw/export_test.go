package devgw

import "time"

// SetPostTimeout changes how long a post waits for a client that does not
// read, and returns a function restoring it.
func SetPostTimeout(d time.Duration) (restore func()) {
	old := postTimeout
	postTimeout = d
	return func() { postTimeout = old }
}
