package devgw

import (
	"encoding/json"
	"fmt"
	"strings"
)

// routeSelector applies a route selection expression ($request.body.a.b or
// ${request.body.a.b}) to message bodies, and knows which routes the API
// declares.
type routeSelector struct {
	path       []string
	routes     map[string]bool // nil: any selected string is a route key
	hasDefault bool            // a $default route exists
	responses  map[string]bool // routes with a route response
}

func parseRouteSelection(expr string, routes, responses []string) (*routeSelector, error) {
	s := strings.TrimSpace(expr)
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		s = "$" + s[2:len(s)-1]
	}
	rest, ok := strings.CutPrefix(s, "$request.body.")
	if !ok || rest == "" {
		return nil, fmt.Errorf("devgw: route selection expression %q: want $request.body.NAME (or ${request.body.NAME})", expr)
	}
	path := strings.Split(rest, ".")
	for _, p := range path {
		if p == "" {
			return nil, fmt.Errorf("devgw: route selection expression %q: empty path segment", expr)
		}
	}
	rs := &routeSelector{path: path, hasDefault: true, responses: map[string]bool{}}
	if len(routes) > 0 {
		rs.routes = make(map[string]bool, len(routes))
		rs.hasDefault = false
		for _, r := range routes {
			switch r {
			case "":
				return nil, fmt.Errorf("devgw: routes: empty route key")
			case "$connect", "$disconnect":
				continue // not message routes
			case "$default":
				rs.hasDefault = true
			}
			rs.routes[r] = true
		}
	}
	for _, r := range responses {
		if r == "$connect" || r == "$disconnect" {
			continue // $connect's answer is the handshake's; $disconnect has no client
		}
		if rs.routes != nil && !rs.routes[r] {
			return nil, fmt.Errorf("devgw: route response for %q, which is not a declared route", r)
		}
		rs.responses[r] = true
	}
	return rs, nil
}

// routeKey is the route for a text message: the selected value when the
// body is a JSON object holding a string at the path (and, when routes are
// declared, the string is one of them); else "$default". ok is false when
// that is $default and the API declares no $default route: API Gateway
// then answers the client with a "Forbidden" error frame.
func (rs *routeSelector) routeKey(body []byte) (key string, ok bool) {
	key = rs.selected(body)
	if key == "" || key == "$connect" || key == "$disconnect" || (rs.routes != nil && !rs.routes[key]) {
		key = "$default"
	}
	if key == "$default" && !rs.hasDefault {
		return key, false
	}
	return key, true
}

// selected is the string at the path of a JSON object body, "" when there
// is none (not JSON, not an object, no such key, not a string: API Gateway
// routes a non-string value to $default).
func (rs *routeSelector) selected(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return ""
	}
	for _, p := range rs.path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		if v, ok = m[p]; !ok {
			return ""
		}
	}
	s, _ := v.(string)
	return s
}

// hasResponse reports whether route has a route response: the function's
// returned body is then sent to the client.
func (rs *routeSelector) hasResponse(route string) bool { return rs.responses[route] }
