package devgw

import (
	"strings"
	"testing"
)

// FuzzRouteSelection: any expression either parses or is refused with an
// error, and any body yields a route key that is never empty, never a
// reserved route other than $default, and is $default for binary frames.
func FuzzRouteSelection(f *testing.F) {
	f.Add("$request.body.action", `{"action":"send"}`)
	f.Add("${request.body.msg.type}", `{"msg":{"type":1.5}}`)
	f.Add("$request.body.", `{}`)
	f.Add("$request.header.x", `not json`)
	f.Add("$request.body.a..b", `{"a":{"":{"b":true}}}`)
	f.Add("$request.body.action", `{"action":"$connect"}`)
	f.Fuzz(func(t *testing.T, expr, body string) {
		rs, err := parseRouteSelection(expr, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "devgw: route selection expression") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		key := rs.routeKey([]byte(body), false)
		if key == "" || key == "$connect" || key == "$disconnect" {
			t.Fatalf("route key %q for %q", key, body)
		}
		if k := rs.routeKey([]byte(body), true); k != "$default" {
			t.Fatalf("binary frame routed to %q", k)
		}
	})
}
