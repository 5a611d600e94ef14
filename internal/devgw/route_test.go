package devgw

import (
	"strings"
	"testing"
)

// FuzzRouteSelection: any expression either parses or is refused with an
// error, and any body yields a route key that is never empty and never a
// reserved route other than $default; with declared routes it is one of
// them or $default, and with no $default route $default is refused.
func FuzzRouteSelection(f *testing.F) {
	f.Add("$request.body.action", `{"action":"send"}`)
	f.Add("${request.body.msg.type}", `{"msg":{"type":1.5}}`)
	f.Add("$request.body.", `{}`)
	f.Add("$request.header.x", `not json`)
	f.Add("$request.body.a..b", `{"a":{"":{"b":true}}}`)
	f.Add("$request.body.action", `{"action":"$connect"}`)
	f.Add("$request.body.action", `{"action":"send"}`)
	f.Fuzz(func(t *testing.T, expr, body string) {
		rs, err := parseRouteSelection(expr, nil, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "devgw: route selection expression") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		key, ok := rs.routeKey([]byte(body))
		if !ok || key == "" || key == "$connect" || key == "$disconnect" {
			t.Fatalf("route key %q %v for %q", key, ok, body)
		}
		declared, _ := parseRouteSelection(expr, []string{"send"}, []string{"send"})
		key, ok = declared.routeKey([]byte(body))
		switch {
		case key == "send" && ok:
		case key == "$default" && !ok:
		default:
			t.Fatalf("with routes [send]: route key %q %v for %q", key, ok, body)
		}
	})
}

func TestRouteKey(t *testing.T) {
	tests := []struct {
		routes []string
		body   string
		want   string
		ok     bool
	}{
		{nil, `{"action":"join"}`, "join", true},
		{nil, `{"action":5}`, "$default", true},
		{nil, `{"action":true}`, "$default", true},
		{nil, `{"action":""}`, "$default", true},
		{[]string{"join", "$default"}, `{"action":"nosuchroute"}`, "$default", true},
		{[]string{"join", "$default"}, `{"action":5}`, "$default", true},
		{[]string{"join"}, `{"action":"join"}`, "join", true},
		{[]string{"join"}, `{"action":"nosuchroute"}`, "$default", false},
		{[]string{"join"}, `not json`, "$default", false},
		{[]string{"$connect", "join"}, `{"action":"$connect"}`, "$default", false},
	}
	for _, tt := range tests {
		rs, err := parseRouteSelection("$request.body.action", tt.routes, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key, ok := rs.routeKey([]byte(tt.body)); key != tt.want || ok != tt.ok {
			t.Errorf("routes %v, body %s: %q %v, want %q %v", tt.routes, tt.body, key, ok, tt.want, tt.ok)
		}
	}
	if _, err := parseRouteSelection("$request.body.action", []string{"join"}, []string{"leave"}); err == nil {
		t.Error("a route response for an undeclared route was accepted")
	}
}
