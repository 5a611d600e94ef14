package lawcket_test

import (
	"context"
	"slices"
	"testing"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/lawckettest"
)

// TestHeaderCaseVariants: when a client sends one header name in several
// casings, Header and HeaderValues answer the variant that sorts first
// (as the spec's headers.x does), not whichever map iteration met first.
func TestHeaderCaseVariants(t *testing.T) {
	var got, gotMulti []string
	a := lawcket.New()
	a.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		got = append(got, ev.Header("x-user"))
		gotMulti = append(gotMulti, ev.HeaderValues("X-User")...)
		return nil
	})
	req := lawckettest.Connect()
	req.Headers = map[string]string{"x-user": "lower", "X-User": "title", "X-USER": "upper", "x-User": "mixed"}
	req.MultiValueHeaders = map[string][]string{"x-user": {"lower"}, "X-User": {"title"}, "X-USER": {"upper"}, "x-User": {"mixed"}}
	for range 50 {
		if _, err := a.Handler()(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	for i := range got {
		if got[i] != "upper" || gotMulti[i] != "upper" { // "X-USER" < "X-User" < "x-User" < "x-user"
			t.Fatalf("call %d: Header = %q, HeaderValues = %q; want the first-sorting variant X-USER (upper) every time", i, got[i], gotMulti[i])
		}
	}
	if !slices.Equal(slices.Compact(slices.Clone(got)), []string{"upper"}) {
		t.Errorf("answers %v", slices.Compact(got))
	}
}
