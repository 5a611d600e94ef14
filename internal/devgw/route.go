package devgw

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// routeSelector applies a route selection expression ($request.body.a.b or
// ${request.body.a.b}) to message bodies.
type routeSelector struct {
	path   []string
	routes map[string]bool // nil: any selected value is a route key
}

func parseRouteSelection(expr string, routes []string) (*routeSelector, error) {
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
	rs := &routeSelector{path: path}
	if len(routes) > 0 {
		rs.routes = make(map[string]bool, len(routes))
		for _, r := range routes {
			rs.routes[r] = true
		}
	}
	return rs, nil
}

// routeKey is the route for a message: the selected value when the body is
// a JSON object holding a string, number or boolean at the path (and, when
// routes are listed, the value is one of them); else "$default".
func (rs *routeSelector) routeKey(body []byte, binary bool) string {
	if binary {
		return "$default"
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "$default"
	}
	for _, p := range rs.path {
		m, ok := v.(map[string]any)
		if !ok {
			return "$default"
		}
		if v, ok = m[p]; !ok {
			return "$default"
		}
	}
	var key string
	switch x := v.(type) {
	case string:
		key = x
	case float64:
		key = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		key = strconv.FormatBool(x)
	default:
		return "$default"
	}
	if key == "" || key == "$connect" || key == "$disconnect" || (rs.routes != nil && !rs.routes[key]) {
		return "$default"
	}
	return key
}
