package syncspec

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// API is the optional api: section: the WebSocket API that serves the
// connections, as `lawcket template` deploys it and `lawcket dev` runs it.
// A spec without api: has a nil API (every tool then uses its defaults).
type API struct {
	// Stage is api.stage, the stage name ("" when not set: the tools'
	// default, prod for `lawcket template`).
	Stage string
	// Selection is api.selection, the route selection expression, such as
	// $request.body.action ("" when not set: $request.body.action).
	Selection string
	// Routes are the custom routes of api.routes, in file order. $connect,
	// $disconnect and $default always exist and are not listed.
	Routes []Route
	// Authorizer is the Lambda REQUEST authorizer of $connect, or nil.
	Authorizer *Authorizer
	// Throttling is the stage's default route throttling, or nil.
	Throttling *Throttling
	// Line and Column are the 1-based position of the section's value.
	Line, Column int
}

// Route is one custom route of api.routes.
type Route struct {
	// Key is the route key: the value of the selection expression that
	// selects this route.
	Key string
	// Function is the function that handles the route ("" for the app's
	// main function); `lawcket template --shape split` gives each named
	// function its own Lambda.
	Function string
	// Line and Column are the 1-based position of the route key.
	Line, Column int
}

// Authorizer is api.authorizer: a Lambda REQUEST authorizer on $connect.
// Exactly one of Function and ARN is set.
type Authorizer struct {
	// Function names the authorizer's function, built and deployed with
	// the stack.
	Function string
	// ARN is the ARN of an existing Lambda function.
	ARN string
	// Identity are the identity sources, such as
	// route.request.querystring.token: a $connect without one of them is
	// refused with 401 before the authorizer runs.
	Identity []string
	// Line and Column are the 1-based position of the authorizer key.
	Line, Column int
}

// Throttling is api.throttling: the stage's steady-state rate (requests per
// second) and burst.
type Throttling struct {
	Rate  float64
	Burst int
}

// RouteKeys returns the custom route keys in file order.
func (a *API) RouteKeys() []string {
	if a == nil {
		return nil
	}
	keys := make([]string, len(a.Routes))
	for i, r := range a.Routes {
		keys[i] = r.Key
	}
	return keys
}

// apiKeys and the keys of its sub-sections.
var (
	apiKeys        = []string{"stage", "selection", "routes", "authorizer", "throttling"}
	routeKeys      = []string{"function"}
	authorizerKeys = []string{"function", "arn", "identity"}
	throttlingKeys = []string{"rate", "burst"}
)

var (
	stageName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	// functionName is also a CloudFormation logical id once capitalized.
	functionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)
	// selectionExpr is what API Gateway accepts for a WebSocket API:
	// $request.body.PATH or ${request.body.PATH}.
	selectionExpr = regexp.MustCompile(`^(\$request\.body\.[A-Za-z0-9_.\[\]'-]+|\$\{request\.body\.[A-Za-z0-9_.\[\]'-]+\})$`)
	identitySrc   = regexp.MustCompile(`^(route\.request\.(header|querystring)\.[!#$%&'*+.^_` + "`" + `|~0-9A-Za-z-]+|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+)$`)
	lambdaARN     = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$`)
)

// maxRouteKey is API Gateway's limit on a route key's length.
const maxRouteKey = 128

// The api: section, one entry of the table-driven top level.
var _ = registerSection(section{
	key:   "api",
	parse: func(p *parser, v *yaml.Node, s *Spec) { s.API = p.walkAPI(v) },
})

// walkAPI checks the api: section and returns it (nil when it is null or
// unsound at its top).
func (p *parser) walkAPI(v *yaml.Node) *API {
	v = resolve(v)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.errNode(v, "api", "api must be a mapping with keys %s", strings.Join(apiKeys, ", "))
		return nil
	}
	api := &API{Line: v.Line, Column: v.Column}
	p.pairs(v, "api", func(ak, av *yaml.Node) {
		path := join("api", ak.Value)
		switch ak.Value {
		case "stage":
			if s, ok := p.scalar(av, path, "a stage name"); ok {
				if !stageName.MatchString(s) {
					p.errNode(av, path, "invalid stage name %q: 1 to 128 letters, digits, '-' or '_'", s)
				} else {
					api.Stage = s
				}
			}
		case "selection":
			if s, ok := p.scalar(av, path, "a route selection expression such as $request.body.action"); ok {
				if !selectionExpr.MatchString(s) {
					p.errNode(av, path, "invalid route selection expression %q: want $request.body.PATH, such as $request.body.action", s)
				} else {
					api.Selection = s
				}
			}
		case "routes":
			api.Routes = p.walkRoutes(av)
		case "authorizer":
			api.Authorizer = p.walkAuthorizer(ak, av)
		case "throttling":
			api.Throttling = p.walkThrottling(av)
		default:
			p.unknownKey(ak, "api", apiKeys)
		}
	})
	return api
}

// walkRoutes reads api.routes: a list of route keys, or a mapping of route
// keys to null or {function: NAME}.
func (p *parser) walkRoutes(v *yaml.Node) []Route {
	v = resolve(v)
	var out []Route
	seen := map[string]*yaml.Node{}
	add := func(k *yaml.Node, path string) bool {
		key := k.Value
		switch {
		case k.Kind != yaml.ScalarNode || isNull(k) || strings.TrimSpace(key) == "":
			p.errNode(k, path, "a route key must be a non-empty string")
			return false
		case strings.HasPrefix(key, "$"):
			if key == "$connect" || key == "$disconnect" || key == "$default" {
				p.errNode(k, path, "%s always exists: list only custom routes", key)
			} else {
				p.errNode(k, path, "invalid route key %q: keys starting with $ are reserved by API Gateway", key)
			}
			return false
		case len(key) > maxRouteKey:
			p.errNode(k, path, "a route key must be at most %d characters (it is %d)", maxRouteKey, len(key))
			return false
		}
		if first, dup := seen[key]; dup {
			p.errNode(k, path, "route %s is listed twice (first at %d:%d)", key, first.Line, first.Column)
			return false
		}
		seen[key] = k
		return true
	}
	switch v.Kind {
	case yaml.SequenceNode:
		for i, n := range v.Content {
			n = resolve(n)
			path := fmt.Sprintf("api.routes[%d]", i)
			if n.Kind != yaml.ScalarNode {
				p.errNode(n, path, "a route must be a route key (or use a mapping: routes: {send: {function: chat}})")
				continue
			}
			if add(n, path) {
				out = append(out, Route{Key: n.Value, Line: n.Line, Column: n.Column})
			}
		}
	case yaml.MappingNode:
		p.pairs(v, "api.routes", func(rk, rv *yaml.Node) {
			path := join("api.routes", rk.Value)
			if !add(rk, path) {
				return
			}
			r := Route{Key: rk.Value, Line: rk.Line, Column: rk.Column}
			rv = resolve(rv)
			switch {
			case isNull(rv):
			case rv.Kind != yaml.MappingNode:
				p.errNode(rv, path, "a route's value must be empty or a mapping with key function")
				return
			default:
				p.pairs(rv, path, func(fk, fv *yaml.Node) {
					if fk.Value != "function" {
						p.unknownKey(fk, path, routeKeys)
						return
					}
					r.Function = p.functionNode(fv, join(path, "function"))
				})
			}
			out = append(out, r)
		})
	default:
		if !isNull(v) {
			p.errNode(v, "api.routes", "routes must be a list of route keys or a mapping of route keys to {function: NAME}")
		}
	}
	return out
}

func (p *parser) functionNode(v *yaml.Node, path string) string {
	s, ok := p.scalar(v, path, "a function name")
	if !ok {
		return ""
	}
	if !functionName.MatchString(s) {
		p.errNode(v, path, "invalid function name %q: a letter, then up to 63 letters or digits", s)
		return ""
	}
	return s
}

func (p *parser) walkAuthorizer(k, v *yaml.Node) *Authorizer {
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		p.errNode(v, "api.authorizer", "authorizer must be a mapping with keys %s", strings.Join(authorizerKeys, ", "))
		return nil
	}
	a := &Authorizer{Line: k.Line, Column: k.Column}
	var hasFunction, hasARN bool
	p.pairs(v, "api.authorizer", func(ak, av *yaml.Node) {
		path := join("api.authorizer", ak.Value)
		switch ak.Value {
		case "function":
			hasFunction = true
			a.Function = p.functionNode(av, path)
		case "arn":
			hasARN = true
			if s, ok := p.scalar(av, path, "a Lambda function ARN"); ok {
				if !lambdaARN.MatchString(s) {
					p.errNode(av, path, "invalid Lambda function ARN %q: want arn:aws:lambda:REGION:ACCOUNT:function:NAME", s)
				} else {
					a.ARN = s
				}
			}
		case "identity":
			a.Identity = p.walkIdentity(av, path)
		default:
			p.unknownKey(ak, "api.authorizer", authorizerKeys)
		}
	})
	switch {
	case hasFunction && hasARN:
		p.errNode(k, "api.authorizer", "an authorizer has function or arn, not both")
	case !hasFunction && !hasARN:
		p.errNode(k, "api.authorizer", "an authorizer needs function (a function of this stack) or arn (an existing Lambda)")
	}
	return a
}

func (p *parser) walkIdentity(v *yaml.Node, path string) []string {
	out, _, _ := p.stringList(v, path, "identity must be a list such as [route.request.querystring.token]", "an identity source", func(s string) string {
		if !identitySrc.MatchString(s) {
			return fmt.Sprintf("invalid identity source %q: want route.request.header.NAME, route.request.querystring.NAME, stageVariables.NAME or context.NAME", s)
		}
		return ""
	})
	return out
}

// API Gateway's account-level ceilings bound what a stage may ask for.
const (
	maxRate  = 1e6
	maxBurst = 1 << 20
)

func (p *parser) walkThrottling(v *yaml.Node) *Throttling {
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		p.errNode(v, "api.throttling", "throttling must be a mapping with keys rate and burst")
		return nil
	}
	t := &Throttling{}
	var hasRate, hasBurst bool
	p.pairs(v, "api.throttling", func(tk, tv *yaml.Node) {
		path := join("api.throttling", tk.Value)
		tv = resolve(tv)
		tag := tv.ShortTag()
		switch tk.Value {
		case "rate":
			hasRate = true
			f, err := strconv.ParseFloat(tv.Value, 64)
			if tv.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || err != nil || math.IsNaN(f) || f <= 0 || f > maxRate {
				p.errNode(tv, path, "rate must be a positive number of requests per second (at most %g)", float64(maxRate))
				return
			}
			t.Rate = f
		case "burst":
			hasBurst = true
			n, err := strconv.Atoi(tv.Value)
			if tv.Kind != yaml.ScalarNode || tag != "!!int" || err != nil || n <= 0 || n > maxBurst {
				p.errNode(tv, path, "burst must be a positive whole number of requests (at most %d)", maxBurst)
				return
			}
			t.Burst = n
		default:
			p.unknownKey(tk, "api.throttling", throttlingKeys)
		}
	})
	if !hasRate || !hasBurst {
		p.errNode(v, "api.throttling", "throttling needs both rate and burst")
		return nil
	}
	return t
}
