package samtemplate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// goformation's ProcessYAML registers its short-form tags in a package
// map on every call: calls are serialized.
var yamlMu sync.Mutex

// processIntrinsics runs goformation's intrinsics processor over the
// template (no resolution when opts is nil: only the short-form tags become
// long form) and decodes the result. A panic in the processor (it indexes
// its inputs without checks) is returned as an error.
func processIntrinsics(data []byte, isJSON bool, opts *intrinsics.ProcessorOptions) (v any, err error) {
	if opts == nil {
		opts = &intrinsics.ProcessorOptions{NoProcess: true}
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("cannot process the template's intrinsic functions: %v", r)
		}
	}()
	var out []byte
	if isJSON {
		out, err = intrinsics.ProcessJSON(data, opts)
	} else {
		yamlMu.Lock()
		out, err = intrinsics.ProcessYAML(data, opts)
		yamlMu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// marker stands, in a resolved value, for a reference that has no local
// value: "\x00samtemplate:N\x00", N indexing resolver.problems. Only where
// a marked value is used does it become an error.
const markerPrefix, markerSuffix = "\x00samtemplate:", "\x00"

var markerRE = regexp.MustCompile("\x00samtemplate:([0-9]+)\x00")

// resolver resolves Ref, Fn::GetAtt and Fn::Sub to local values.
type resolver struct {
	p        *parser
	mu       sync.Mutex
	problems []string
	depth    int
	// generated are logical ids SAM generates (routes of a WebSocketApi),
	// which a RouteResponse may Ref.
	generated map[string]bool
	// names caches localName's results; inProgress detects cycles.
	names      map[string]any
	inProgress map[string]bool
}

func newResolver(p *parser) *resolver {
	r := &resolver{p: p, generated: map[string]bool{}, names: map[string]any{}, inProgress: map[string]bool{}}
	for _, id := range p.resources(typeSAMWebSocketAPI) {
		props := rawProps(p.rawResources()[id])
		routes, _ := props["Routes"].(map[string]any)
		for key := range routes {
			r.generated[samRouteID(id, key)] = true
		}
	}
	return r
}

// samRouteID is the logical id aws-sam-translator gives a WebSocketApi's
// route: the API's id, the key without "$" capitalized, "Route".
func samRouteID(api, key string) string {
	clean := strings.TrimPrefix(key, "$")
	if clean != "" {
		clean = strings.ToUpper(clean[:1]) + strings.ToLower(clean[1:])
	}
	return api + clean + "Route"
}

func (r *resolver) options() *intrinsics.ProcessorOptions {
	params := map[string]any{}
	for k, v := range r.p.opts.Parameters {
		params[k] = v
	}
	return &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":             r.ref,
			"Fn::GetAtt":      r.getAtt,
			"Fn::Sub":         r.sub,
			"Fn::ImportValue": r.importValue,
			"Fn::GetAZs":      func(string, any, any) any { return []any{r.p.opts.Region + "a"} },
			"Fn::If":          r.fnIf,
		},
		// Not EvaluateConditions: goformation then replaces every resource
		// that has a Condition attribute by the condition's value, and
		// recurses without end on conditions that name each other. Fn::If
		// evaluates its condition here instead.
		ParameterOverrides: params,
	}
}

// fnIf resolves Fn::If [condition, then, else], evaluating the condition
// (Fn::Equals, Fn::And, Fn::Or, Fn::Not over parameters).
func (r *resolver) fnIf(_ string, input any, _ any) any {
	arr, ok := input.([]any)
	if !ok || len(arr) != 3 {
		return r.fail("Fn::If wants [condition, value if true, value if false], not %s", describe(input))
	}
	name, ok := arr[0].(string)
	if !ok {
		return r.fail("Fn::If: the condition is %s, not a name", describe(arr[0]))
	}
	conds, _ := r.p.raw["Conditions"].(map[string]any)
	c, ok := conds[name]
	if !ok {
		return r.fail("Fn::If: no condition %s in Conditions", name)
	}
	switch v := r.eval(c).(type) {
	case bool:
		if v {
			return arr[1]
		}
		return arr[2]
	default:
		return r.fail("Fn::If: condition %s does not evaluate locally to true or false", name)
	}
}

// fail records a problem and returns its marker.
func (r *resolver) fail(format string, args ...any) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
	return markerPrefix + strconv.Itoa(len(r.problems)-1) + markerSuffix
}

// problem is the first problem marked in s, "" when s has no marker.
func (r *resolver) problem(s string) string {
	m := markerRE.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	i, _ := strconv.Atoi(m[1])
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < len(r.problems) {
		return r.problems[i]
	}
	return "unresolved reference"
}

func (r *resolver) importValue(_ string, input any, _ any) any {
	return r.fail("Fn::ImportValue %v: imports from other stacks have no local value", input)
}

func (r *resolver) ref(_ string, input any, _ any) any {
	name, ok := input.(string)
	if !ok {
		return r.fail("Ref wants a name, not %s", describe(input))
	}
	return r.refName(name)
}

func (r *resolver) refName(name string) any {
	o := &r.p.opts
	switch name {
	case "AWS::AccountId":
		return o.AccountID
	case "AWS::Region":
		return o.Region
	case "AWS::StackName":
		return o.StackName
	case "AWS::StackId":
		return "arn:aws:cloudformation:" + o.Region + ":" + o.AccountID + ":stack/" + o.StackName + "/00000000-0000-0000-0000-000000000000"
	case "AWS::Partition":
		return "aws"
	case "AWS::URLSuffix":
		return "amazonaws.com"
	case "AWS::NoValue":
		return nil
	case "AWS::NotificationARNs":
		return []any{}
	}
	if params, ok := r.p.raw["Parameters"].(map[string]any); ok {
		if prm, ok := params[name].(map[string]any); ok {
			if v, ok := o.Parameters[name]; ok {
				return v
			}
			if def, ok := prm["Default"]; ok {
				return scalarString(def, func() string { return r.fail("parameter %s: Default is %s", name, describe(def)) })
			}
			return r.fail("parameter %s has no Default: give it a value (--parameter %s=VALUE)", name, name)
		}
	}
	// SAM's referable properties: !Ref Api.Stage is the API's stage name.
	if api, prop, ok := strings.Cut(name, "."); ok && prop == "Stage" && resourceType(r.p.rawResources()[api]) == typeSAMWebSocketAPI {
		return r.samStage(api)
	}
	res, ok := r.p.rawResources()[name]
	if !ok {
		if r.generated[name] {
			return name
		}
		return r.fail("Ref %s: no such parameter or resource", name)
	}
	switch t := resourceType(res); t {
	case typeTable, typeSimpleTable:
		return r.localName(name, "TableName")
	case typeSAMFunction, typeLambdaFunction:
		return r.localName(name, "FunctionName")
	case typeSAMWebSocketAPI, typeAPI:
		return r.apiID(name)
	case typeStage:
		return r.localName(name, "StageName")
	default:
		// Integrations, authorizers, routes and other resources: their
		// logical id is their local id.
		return name
	}
}

// apiID is what a Ref to API resource id resolves to: Options.APIID for a
// WebSocket API, the logical id for another.
func (r *resolver) apiID(id string) string {
	res := r.p.rawResources()[id]
	if resourceType(res) == typeSAMWebSocketAPI {
		return r.p.opts.APIID
	}
	if pt, _ := rawProps(res)["ProtocolType"].(string); strings.EqualFold(pt, "WEBSOCKET") {
		return r.p.opts.APIID
	}
	return id
}

// samStage is the StageName of SAM API id (default "default").
func (r *resolver) samStage(id string) any {
	v, ok := rawProps(r.p.rawResources()[id])["StageName"]
	if !ok {
		return DefaultSAMStage
	}
	return r.eval(v)
}

// localName is resource id's property prop (its name) when set, else the
// logical id.
func (r *resolver) localName(id, prop string) any {
	v, ok := rawProps(r.p.rawResources()[id])[prop]
	if !ok {
		return id
	}
	k := id + "." + prop
	r.mu.Lock()
	if v, ok := r.names[k]; ok {
		r.mu.Unlock()
		return v
	}
	if r.inProgress[k] {
		r.mu.Unlock()
		return r.fail("%s of %s refers to itself", prop, id)
	}
	r.inProgress[k] = true
	r.mu.Unlock()
	out := r.eval(v)
	r.mu.Lock()
	r.names[k] = out
	delete(r.inProgress, k)
	r.mu.Unlock()
	return out
}

// eval resolves a fragment of the raw template (a property value holding
// intrinsic functions) with the template's Parameters, Mappings and
// Conditions in scope.
func (r *resolver) eval(v any) any {
	if s, ok := v.(string); ok {
		return s
	}
	r.mu.Lock()
	r.depth++
	depth := r.depth
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.depth--
		r.mu.Unlock()
	}()
	if depth > 16 {
		return r.fail("references nest too deep (a cycle?)")
	}
	wrapper := map[string]any{"__value": v}
	for _, k := range []string{"Parameters", "Mappings", "Conditions"} {
		if x, ok := r.p.raw[k]; ok {
			wrapper[k] = x
		}
	}
	b, err := json.Marshal(wrapper)
	if err != nil {
		return r.fail("%v", err)
	}
	out, err := processIntrinsics(b, true, r.options())
	if err != nil {
		return r.fail("%v", err)
	}
	m, _ := out.(map[string]any)
	return m["__value"]
}

func (r *resolver) getAtt(_ string, input any, _ any) any {
	var id, attr string
	switch v := input.(type) {
	case string:
		id, attr, _ = strings.Cut(v, ".")
	case []any:
		if len(v) == 2 {
			id, _ = v[0].(string)
			attr, _ = v[1].(string)
		}
	}
	if id == "" || attr == "" {
		return r.fail("Fn::GetAtt wants [LogicalId, Attribute], not %s", describe(input))
	}
	return r.attr(id, attr)
}

func (r *resolver) attr(id, attr string) any {
	o := &r.p.opts
	res, ok := r.p.rawResources()[id]
	if !ok {
		return r.fail("Fn::GetAtt %s.%s: no such resource", id, attr)
	}
	str := func(v any) (string, bool) { s, ok := v.(string); return s, ok }
	switch t := resourceType(res); t {
	case typeTable, typeSimpleTable:
		name, ok := str(r.localName(id, "TableName"))
		if !ok {
			break
		}
		arn := "arn:aws:dynamodb:" + o.Region + ":" + o.AccountID + ":table/" + name
		switch attr {
		case "Arn":
			return arn
		case "StreamArn":
			return arn + "/stream/1970-01-01T00:00:00.000"
		}
	case typeSAMFunction, typeLambdaFunction:
		name, ok := str(r.localName(id, "FunctionName"))
		if ok && attr == "Arn" {
			return "arn:aws:lambda:" + o.Region + ":" + o.AccountID + ":function:" + name
		}
	case typeSAMWebSocketAPI, typeAPI:
		switch attr {
		case "ApiId":
			return r.apiID(id)
		case "ApiEndpoint":
			if o.Endpoint != "" {
				return "ws://" + o.Endpoint
			}
			return "wss://" + r.apiID(id) + ".execute-api." + o.Region + ".amazonaws.com"
		}
	case typeAuthorizer:
		if attr == "AuthorizerId" {
			return id
		}
	case typeRoute:
		if attr == "RouteId" {
			return id
		}
	case typeIntegration:
		if attr == "IntegrationId" {
			return id
		}
	case "AWS::IAM::Role":
		if attr == "Arn" {
			return "arn:aws:iam::" + o.AccountID + ":role/" + id
		}
		if attr == "RoleId" {
			return id
		}
	}
	return r.fail("Fn::GetAtt %s.%s: attribute %s of a %s has no local value", id, attr, attr, resourceType(res))
}

var subVarRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub resolves Fn::Sub: "text ${Name} ${Res.Attr} ${!Literal}" or
// [text, {Name: value}].
func (r *resolver) sub(_ string, input any, _ any) any {
	var text string
	vars := map[string]any{}
	switch v := input.(type) {
	case string:
		text = v
	case []any:
		if len(v) != 2 {
			return r.fail("Fn::Sub wants a string or [string, {variables}], not a list of %d", len(v))
		}
		var ok bool
		if text, ok = v[0].(string); !ok {
			return r.fail("Fn::Sub: the text is %s, not a string", describe(v[0]))
		}
		if vars, ok = v[1].(map[string]any); !ok && v[1] != nil {
			return r.fail("Fn::Sub: the variables are %s, not a mapping", describe(v[1]))
		}
	default:
		return r.fail("Fn::Sub wants a string or [string, {variables}], not %s", describe(input))
	}
	return subVarRE.ReplaceAllStringFunc(text, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-1])
		if lit, ok := strings.CutPrefix(name, "!"); ok {
			return "${" + lit + "}"
		}
		var val any
		if v, ok := vars[name]; ok {
			val = v
		} else if id, attr, ok := strings.Cut(name, "."); ok && !(attr == "Stage" && resourceType(r.p.rawResources()[id]) == typeSAMWebSocketAPI) {
			val = r.attr(id, attr)
		} else {
			val = r.refName(name)
		}
		return scalarString(val, func() string { return r.fail("Fn::Sub ${%s}: %s, not a string", name, describe(val)) })
	})
}

// scalarString is v as a string when it is a string, number or boolean;
// else bad().
func scalarString(v any, bad func() string) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return bad()
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(x)
	case float64, bool:
		return fmt.Sprint(x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// rawProps is a raw resource's Properties.
func rawProps(res any) map[string]any {
	m, _ := res.(map[string]any)
	p, _ := m["Properties"].(map[string]any)
	return p
}
