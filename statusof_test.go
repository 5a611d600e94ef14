package lawcket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/lawcket/lawcket"
)

// TestStatusOf: StatusOf says what the App answers, for every kind of
// outcome the pipeline classifies.
func TestStatusOf(t *testing.T) {
	for name, err := range map[string]error{
		"nil":                 nil,
		"refusal":             lawcket.Reject(http.StatusUnauthorized, "no token"),
		"wrapped refusal":     fmt.Errorf("auth: %w", lawcket.Reject(http.StatusForbidden, "banned")),
		"joined refusals":     errors.Join(lawcket.Reject(http.StatusBadRequest, "a"), lawcket.Reject(http.StatusForbidden, "b")),
		"refusal and fault":   errors.Join(lawcket.Reject(http.StatusBadRequest, "a"), errors.New("store down")),
		"5xx refusal":         lawcket.Reject(http.StatusServiceUnavailable, "later"),
		"invalid status":      lawcket.Reject(302, "elsewhere"),
		"fault":               errors.New("boom"),
		"context deadline":    context.DeadlineExceeded,
		"empty joined errors": errors.Join(errors.New("x")),
	} {
		app := lawcket.New(lawcket.WithLogger(discard))
		app.On(lawcket.Connect, func(context.Context, *lawcket.Event) error { return err })
		resp, _ := app.Handler()(context.Background(), request("CONNECT", "$connect", ""))
		if got := lawcket.StatusOf(err); got != resp.StatusCode {
			t.Errorf("%s: StatusOf = %d, the App answers %d", name, got, resp.StatusCode)
		}
	}
	if got := lawcket.StatusOf(errors.Join(lawcket.Reject(http.StatusBadRequest, "a"), errors.New("x"))); got != http.StatusInternalServerError {
		t.Errorf("a refusal joined with a fault: %d, want 500", got)
	}
}

func ExampleStatusOf() {
	fmt.Println(lawcket.StatusOf(nil), lawcket.StatusOf(lawcket.Reject(http.StatusUnauthorized, "no token")), lawcket.StatusOf(errors.New("store down")))
	// Output: 200 401 500
}
