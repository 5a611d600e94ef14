package eval

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/types"
)

// The names of the expression environment.
const (
	nameQuery          = "query"
	nameQueryAll       = "queryAll"
	nameHeaders        = "headers"
	nameHeadersAll     = "headersAll"
	nameAuthorizer     = "authorizer"
	nameRequestContext = "requestContext"
	nameEnv            = "env"
)

// Names lists the names an expression can use besides expr's builtins, in
// the order the documentation presents them.
func Names() []string {
	return []string{nameQuery, nameQueryAll, nameHeaders, nameHeadersAll, nameAuthorizer, nameRequestContext, nameEnv}
}

// requestContextKeys are the keys of requestContext, in documentation order.
var requestContextKeys = []string{"connectionId", "stage", "domainName", "apiId", "routeKey", "requestId", "connectedAt", "requestTimeEpoch", "identity"}

// envType is the typed environment every expression is checked against:
// an unknown top-level name, requestContext key or env variable is a
// compile error. Maps keyed by client data (query, headers, authorizer)
// accept any key and give nil for a missing one, so `??` works.
func envType(allowed map[string]bool) types.Map {
	env := make(types.Map, len(allowed))
	for name := range allowed {
		env[name] = types.String
	}
	return types.Map{
		nameQuery:      types.Map{types.Extra: types.String},
		nameQueryAll:   types.Map{types.Extra: types.Array(types.String)},
		nameHeaders:    types.Map{types.Extra: types.String},
		nameHeadersAll: types.Map{types.Extra: types.Array(types.String)},
		nameAuthorizer: types.Map{types.Extra: types.Any},
		nameRequestContext: types.Map{
			"connectionId":     types.String,
			"stage":            types.String,
			"domainName":       types.String,
			"apiId":            types.String,
			"routeKey":         types.String,
			"requestId":        types.String,
			"connectedAt":      types.Int,
			"requestTimeEpoch": types.Int,
			"identity": types.Map{
				"sourceIp":  types.String,
				"userAgent": types.String,
			},
		},
		nameEnv: env,
	}
}

// runEnvType is envType with every value that may be missing at run time
// typed as any: the values of query, queryAll, headers and headersAll (a
// missing key) and of env (an allowlisted variable that is unset). It is
// the environment programs run against (see Compile).
func runEnvType(checked types.Map) types.Map {
	run := maps.Clone(checked)
	for _, name := range []string{nameQuery, nameQueryAll, nameHeaders, nameHeadersAll} {
		run[name] = types.Map{types.Extra: types.Any}
	}
	env := make(types.Map, len(checked[nameEnv].(types.Map)))
	for k := range checked[nameEnv].(types.Map) {
		env[k] = types.Any
	}
	run[nameEnv] = env
	run[nameBounds] = types.Any // the evaluation's *bounds (see limits.go)
	return run
}

// usage records what parts of the environment a program reads, so that
// each connection builds only those: all, or only the listed keys.
type usage struct {
	all  bool
	keys []string
}

func (u *usage) addKey(k string) {
	if !u.all && !slices.Contains(u.keys, k) {
		u.keys = append(u.keys, k)
	}
}

func (u *usage) merge(o usage) {
	if o.all {
		u.all, u.keys = true, nil
		return
	}
	for _, k := range o.keys {
		u.addKey(k)
	}
}

func (u usage) used() bool { return u.all || len(u.keys) > 0 }

// constant reports whether a program reads nothing of the event nor an
// env variable that is unset now (it may be set where the spec runs): its
// value is then known at compile time.
func (u *usages) constant(env map[string]any) bool {
	for i := range u {
		if i != nameIndex(nameEnv) && u[i].used() {
			return false
		}
	}
	e := u[nameIndex(nameEnv)]
	if e.all {
		return false
	}
	for _, k := range e.keys {
		if _, set := env[k]; !set {
			return false
		}
	}
	return true
}

// usages is indexed by the position of a name in Names().
type usages [7]usage

func nameIndex(name string) int {
	switch name {
	case nameQuery:
		return 0
	case nameQueryAll:
		return 1
	case nameHeaders:
		return 2
	case nameHeadersAll:
		return 3
	case nameAuthorizer:
		return 4
	case nameRequestContext:
		return 5
	case nameEnv:
		return 6
	}
	return -1
}

// usageVisitor records `name.key` and `name["key"]` (a constant key) and
// marks the identifier as covered. ast.Walk visits children before their
// parent, so identifiers used otherwise are found by identVisitor in a
// second pass; a name used as a whole is read entirely.
type usageVisitor struct {
	u       *usages
	covered map[*ast.IdentifierNode]bool
	// upper lists constant header keys that are not lower case: they can
	// never match, since header names are lower-cased.
	upper []*ast.StringNode
}

func (v *usageVisitor) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := n.Node.(*ast.IdentifierNode)
	if !ok {
		return
	}
	key, ok := n.Property.(*ast.StringNode)
	i := nameIndex(id.Value)
	if !ok || i < 0 {
		return
	}
	if (id.Value == nameHeaders || id.Value == nameHeadersAll) && key.Value != strings.ToLower(key.Value) {
		v.upper = append(v.upper, key)
		return
	}
	v.u[i].addKey(key.Value)
	v.covered[id] = true
}

type identVisitor struct {
	u       *usages
	covered map[*ast.IdentifierNode]bool
}

func (v *identVisitor) Visit(node *ast.Node) {
	id, ok := (*node).(*ast.IdentifierNode)
	if !ok || v.covered[id] {
		return
	}
	if id.Value == "$env" {
		for i := range v.u {
			v.u[i].all = true
		}
		return
	}
	if i := nameIndex(id.Value); i >= 0 {
		v.u[i].all = true
	}
}

func analyze(tree ast.Node) (usages, []*ast.StringNode) {
	var u usages
	covered := map[*ast.IdentifierNode]bool{}
	uv := &usageVisitor{u: &u, covered: covered}
	ast.Walk(&tree, uv)
	ast.Walk(&tree, &identVisitor{u: &u, covered: covered})
	for i := range u {
		if u[i].all {
			u[i].keys = nil
		}
	}
	return u, uv.upper
}

// emptyMap stands for absent parts of the event. Expressions cannot modify
// it, and results are copied by normalize, so sharing it is safe.
var emptyMap = map[string]any{}

// state is what one evaluation needs besides the Program: pooled so that a
// connection reuses the maps of an earlier one.
type state struct {
	env        map[string]any
	query      map[string]any
	queryAll   map[string]any
	headers    map[string]any
	headersAll map[string]any
	reqCtx     map[string]any
	identity   map[string]any
	// orig is the header name each folded name was taken from (see first).
	orig map[string]string
}

func newState() *state {
	return &state{
		env:        make(map[string]any, 7),
		query:      map[string]any{},
		queryAll:   map[string]any{},
		headers:    map[string]any{},
		headersAll: map[string]any{},
		reqCtx:     make(map[string]any, len(requestContextKeys)),
		identity:   make(map[string]any, 2),
		orig:       map[string]string{},
	}
}

// fill builds the environment of one connect event, reading only what u
// says the program uses. The maps are cleared first, so nothing of an
// earlier connection remains visible.
func (s *state) fill(u *usages, req *events.APIGatewayWebsocketProxyRequest, env map[string]any) map[string]any {
	clear(s.env)
	if u[0].used() {
		clear(s.query)
		fillSingle(s.query, &u[0], req.QueryStringParameters, req.MultiValueQueryStringParameters, nil)
		s.env[nameQuery] = s.query
	}
	if u[1].used() {
		clear(s.queryAll)
		fillMulti(s.queryAll, &u[1], req.MultiValueQueryStringParameters, req.QueryStringParameters, nil)
		s.env[nameQueryAll] = s.queryAll
	}
	if u[2].used() {
		clear(s.headers)
		clear(s.orig)
		fillSingle(s.headers, &u[2], req.Headers, req.MultiValueHeaders, s.orig)
		s.env[nameHeaders] = s.headers
	}
	if u[3].used() {
		clear(s.headersAll)
		clear(s.orig)
		fillMulti(s.headersAll, &u[3], req.MultiValueHeaders, req.Headers, s.orig)
		s.env[nameHeadersAll] = s.headersAll
	}
	var auth map[string]any
	if u[4].used() {
		auth = authorizerMap(req.RequestContext.Authorizer)
		s.env[nameAuthorizer] = auth
	}
	if u[5].used() {
		clear(s.reqCtx)
		clear(s.identity)
		fillRequestContext(s.reqCtx, s.identity, &u[5], &req.RequestContext)
		s.env[nameRequestContext] = s.reqCtx
	}
	s.env[nameEnv] = env
	return s.env
}

// key returns the environment key for an event key: lower-cased for headers.
func eventKey(k string, fold bool) string {
	if fold {
		return strings.ToLower(k)
	}
	return k
}

// wanted reports whether the event key k is read by the program, and under
// which environment key.
func wanted(u *usage, k string, fold bool) (string, bool) {
	if u.all {
		return eventKey(k, fold), true
	}
	for _, w := range u.keys { // header keys in u are lower case (see analyze)
		if w == k || (fold && strings.EqualFold(w, k)) {
			return w, true
		}
	}
	return "", false
}

// fillSingle fills dst from single-valued parameters, falling back to the
// last of the multi-valued ones (what API Gateway itself puts in the
// single-valued map) when only those are present. Names are folded to
// lower case when orig is not nil (headers), which records the name each
// folded one came from (see first).
func fillSingle(dst map[string]any, u *usage, single map[string]string, multi map[string][]string, orig map[string]string) {
	fold := orig != nil
	if !u.all && !fold { // constant keys, exact names: look them up
		for _, k := range u.keys {
			if v, ok := single[k]; ok {
				dst[k] = v
			} else if vs := multi[k]; single == nil && len(vs) > 0 {
				dst[k] = vs[len(vs)-1]
			}
		}
		return
	}
	if single == nil {
		for k, vs := range multi {
			if ek, ok := wanted(u, k, fold); ok && len(vs) > 0 && first(orig, ek, k) {
				dst[ek] = vs[len(vs)-1]
			}
		}
		return
	}
	for k, v := range single {
		if ek, ok := wanted(u, k, fold); ok && first(orig, ek, k) {
			dst[ek] = v
		}
	}
}

// fillMulti is fillSingle for lists: multi-valued parameters, or a list of
// one per single-valued parameter when only those are present.
func fillMulti(dst map[string]any, u *usage, multi map[string][]string, single map[string]string, orig map[string]string) {
	fold := orig != nil
	if !u.all && !fold { // constant keys, exact names: look them up
		for _, k := range u.keys {
			if vs, ok := multi[k]; ok {
				if vs == nil {
					vs = []string{}
				}
				dst[k] = vs
			} else if v, ok := single[k]; multi == nil && ok {
				dst[k] = []string{v}
			}
		}
		return
	}
	if multi == nil {
		for k, v := range single {
			if ek, ok := wanted(u, k, fold); ok && first(orig, ek, k) {
				dst[ek] = []string{v}
			}
		}
		return
	}
	for k, vs := range multi {
		if ek, ok := wanted(u, k, fold); ok && first(orig, ek, k) {
			if vs == nil {
				vs = []string{}
			}
			dst[ek] = vs
		}
	}
}

// first reports whether the event key k should be stored under ek: when
// two header names differ only in case, the one that sorts first wins, so
// the environment does not depend on map iteration order. orig (nil when
// names are not folded) remembers the winner of each folded name, so that
// the cost is linear in the number of headers.
func first(orig map[string]string, ek, k string) bool {
	if orig == nil {
		return true
	}
	if o, dup := orig[ek]; dup && o <= k {
		return false
	}
	orig[ek] = k
	return true
}

func fillRequestContext(dst, identity map[string]any, u *usage, rc *events.APIGatewayWebsocketProxyRequestContext) {
	keys := u.keys
	if u.all {
		keys = requestContextKeys
	}
	for _, k := range keys {
		switch k {
		case "connectionId":
			dst[k] = rc.ConnectionID
		case "stage":
			dst[k] = rc.Stage
		case "domainName":
			dst[k] = rc.DomainName
		case "apiId":
			dst[k] = rc.APIID
		case "routeKey":
			dst[k] = rc.RouteKey
		case "requestId":
			dst[k] = rc.RequestID
		case "connectedAt":
			dst[k] = int(rc.ConnectedAt)
		case "requestTimeEpoch":
			dst[k] = int(rc.RequestTimeEpoch)
		case "identity":
			identity["sourceIp"] = rc.Identity.SourceIP
			identity["userAgent"] = rc.Identity.UserAgent
			dst[k] = identity
		}
	}
}

// authorizerMap returns requestContext.authorizer as a map. Decoded from
// JSON it already is a map[string]any and is used as is (expressions cannot
// modify it); other map types are converted; anything else is empty.
func authorizerMap(a any) map[string]any {
	switch m := a.(type) {
	case map[string]any:
		if m == nil {
			return emptyMap
		}
		return m
	case map[string]string:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	case nil:
		return emptyMap
	}
	rv := reflect.ValueOf(a)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return emptyMap
	}
	out := make(map[string]any, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		out[it.Key().String()] = it.Value().Interface()
	}
	return out
}

// NewEnv returns the complete expression environment for req, as a plain
// map of the names listed by Names, with env holding the allowlisted
// variables. It is meant for debugging and documentation (for example to
// print what an expression would see); Program.Evaluate builds only the
// parts its expressions read. The result shares the event's slices and the
// authorizer map.
func NewEnv(req *events.APIGatewayWebsocketProxyRequest, env map[string]string) map[string]any {
	var u usages
	for i := range u {
		u[i].all = true
	}
	e := make(map[string]any, len(env))
	for k, v := range env {
		e[k] = v
	}
	return newState().fill(&u, req, e)
}
