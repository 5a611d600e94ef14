package samtemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	yaml "go.yaml.in/yaml/v3"
)

// Defaults for the zero values of Options, and of SAM properties.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
	DefaultStackName = "lawcket-dev"
	DefaultAPIID     = "lawcketdev"
	// DefaultSAMStage is the stage AWS::Serverless::WebSocketApi deploys
	// without StageName (aws-sam-translator's websocket_api_generator).
	DefaultSAMStage = "default"
	// DefaultFunctionTimeout is Lambda's default function timeout (3 s).
	DefaultFunctionTimeout = 3
	// MaxTemplateSize bounds the template file (CloudFormation's own limit
	// for a template in S3 is 1 MB).
	MaxTemplateSize = 1 << 20
)

// Options says what the template's references resolve to locally. The zero
// value of every field means its default.
type Options struct {
	// Region is AWS::Region and the region in ARNs (default DefaultRegion).
	Region string
	// AccountID is AWS::AccountId (default DefaultAccountID).
	AccountID string
	// StackName is AWS::StackName (default DefaultStackName).
	StackName string
	// APIID is what a !Ref to the WebSocket API resolves to (default
	// DefaultAPIID).
	APIID string
	// Endpoint is the local gateway's host:port; when set,
	// !GetAtt Api.ApiEndpoint is ws://Endpoint and environment values that
	// name the API's execute-api URL (https:// or wss://APIID.execute-api.
	// REGION.amazonaws.com) are rewritten to the local gateway.
	Endpoint string
	// Parameters override the template's Parameters (their Default).
	Parameters map[string]string
}

func (o *Options) setDefaults() {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.StackName == "" {
		o.StackName = DefaultStackName
	}
	if o.APIID == "" {
		o.APIID = DefaultAPIID
	}
}

// Template is what `lawcket dev` runs from a SAM or CloudFormation template.
type Template struct {
	// File is the template's path as given.
	File string
	// Dir is the template's directory (CodeUri is relative to it).
	Dir string
	// API is the template's WebSocket API.
	API *API
	// Functions are the template's Lambda functions (AWS::Serverless::Function,
	// AWS::Lambda::Function) by logical id; UsedFunctions lists those the
	// API invokes.
	Functions map[string]*Function
	// Tables are the template's DynamoDB tables, in logical id order.
	Tables []*Table
}

// API is a WebSocket API: an AWS::Serverless::WebSocketApi, or an
// AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET and its Route,
// Integration, Authorizer, RouteResponse and Stage resources.
type API struct {
	LogicalID string
	Name      string
	// RouteSelectionExpression, e.g. "$request.body.action".
	RouteSelectionExpression string
	// Stage is the stage name (SAM's StageName, default "default"; the
	// AWS::ApiGatewayV2::Stage of the API; empty when none is declared).
	Stage string
	// StageVariables are the stage's variables.
	StageVariables map[string]string
	// Routes by route key ($connect, $disconnect, $default, custom keys).
	Routes map[string]*Route
	// Authorizer is the $connect route's Lambda REQUEST authorizer, nil
	// without one.
	Authorizer *Authorizer
	// Pos is where the API resource is declared.
	Pos Pos
}

// UsedFunctions are the logical ids of the functions the API's routes and
// authorizer invoke, sorted.
func (t *Template) UsedFunctions() []string {
	seen := map[string]bool{}
	if t.API != nil {
		for _, r := range t.API.Routes {
			seen[r.Function] = true
		}
		if t.API.Authorizer != nil {
			seen[t.API.Authorizer.Function] = true
		}
	}
	delete(seen, "")
	return sortedKeys(seen)
}

// RouteKeys are the API's route keys, sorted.
func (a *API) RouteKeys() []string {
	keys := make([]string, 0, len(a.Routes))
	for k := range a.Routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CustomRoutes are the route keys other than $connect, $disconnect and
// $default, sorted.
func (a *API) CustomRoutes() []string {
	var keys []string
	for _, k := range a.RouteKeys() {
		if !strings.HasPrefix(k, "$") {
			keys = append(keys, k)
		}
	}
	return keys
}

// Route is one route of the API and the function its Lambda proxy
// integration invokes.
type Route struct {
	Key string
	// Function is the logical id of the route's function.
	Function string
	// TwoWay: the route has a RouteResponseSelectionExpression and a
	// $default RouteResponse, so the function's returned body is sent to
	// the client.
	TwoWay bool
	// TimeoutMillis is the integration timeout (0: API Gateway's 29 s).
	TimeoutMillis int
	Pos           Pos
}

// Authorizer is a Lambda REQUEST authorizer on $connect.
type Authorizer struct {
	Name string
	// Function is the logical id of the authorizer's function.
	Function string
	// IdentitySource lists the request parameters that must be present,
	// e.g. "route.request.header.Authorization",
	// "route.request.querystring.token".
	IdentitySource []string
	Pos            Pos
}

// Function is a Lambda function of the template.
type Function struct {
	LogicalID string
	// Name is the local function name (FunctionName, else the logical id).
	Name string
	// CodeURI is the absolute directory of the function's code (CodeUri
	// relative to the template's directory); empty when it is not a local
	// directory (an S3 location, InlineCode, an image).
	CodeURI string
	Runtime string
	Handler string
	// BuildMethod is Metadata.BuildMethod (go1.x for Go on provided.*).
	BuildMethod string
	// Architecture is x86_64 or arm64 (default x86_64).
	Architecture string
	// Environment is Environment.Variables, resolved.
	Environment map[string]string
	// Timeout in seconds (default 3, Lambda's).
	Timeout int
	// MemorySize in MB (default 128).
	MemorySize int
	Pos        Pos
}

// IsGo reports whether sam build would build the function with its Go
// builder: BuildMethod go1.x, or the retired go1.x runtime.
func (f *Function) IsGo() bool {
	return f.BuildMethod == "go1.x" || f.Runtime == "go1.x"
}

// Table is a DynamoDB table of the template.
type Table struct {
	LogicalID string
	// Name is the local table name (TableName, else the logical id).
	Name string
	// Definition creates it (key schema, attributes, GSIs, LSIs); billing
	// is PAY_PER_REQUEST unless provisioned throughput is declared.
	Definition *dynamodb.CreateTableInput
	// TTLAttribute is TimeToLiveSpecification.AttributeName when enabled.
	TTLAttribute string
	Pos          Pos
}

// Pos is a position in the template file (1-based; zero when unknown).
type Pos struct{ Line, Col int }

// Error is one problem with a template, at FILE:LINE:COL when known.
type Error struct {
	File string
	Pos
	// Path is where in the template, e.g. "Resources.Fn.Properties.CodeUri".
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a template, in file order.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Load reads and parses the template at path.
func Load(path string, opts Options) (*Template, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTemplateSize+1))
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %s: %w", path, err)
	}
	if len(data) > MaxTemplateSize {
		return nil, fmt.Errorf("samtemplate: %s: larger than %d bytes", path, MaxTemplateSize)
	}
	return Parse(path, data, opts)
}

// Parse parses a template's bytes; file names it in errors and is the base
// of relative CodeUri paths.
func Parse(file string, data []byte, opts Options) (*Template, error) {
	opts.setDefaults()
	p := &parser{file: file, opts: opts}
	if err := p.parse(data); err != nil {
		return nil, err
	}
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, p.errs
	}
	return p.tpl, nil
}

// parser holds one Parse.
type parser struct {
	file string
	opts Options
	root *yaml.Node // the document's top mapping
	errs Errors
	tpl  *Template

	raw      map[string]any // long-form template, intrinsics not resolved
	resolved map[string]any // intrinsics resolved
	res      *resolver
}

func (p *parser) errorf(path string, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Pos: p.pos(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) parse(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &Error{File: p.file, Pos: yamlErrorPos(err), Msg: "invalid YAML/JSON: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return &Error{File: p.file, Pos: Pos{1, 1}, Msg: "a template is a mapping with Resources"}
	}
	p.root = doc.Content[0]
	raw, err := processIntrinsics(data, p.isJSON(data), nil)
	if err != nil {
		return &Error{File: p.file, Msg: err.Error()}
	}
	var ok bool
	if p.raw, ok = raw.(map[string]any); !ok {
		return &Error{File: p.file, Pos: Pos{1, 1}, Msg: "a template is a mapping with Resources"}
	}
	if _, ok := p.raw["Resources"].(map[string]any); !ok {
		return &Error{File: p.file, Pos: p.pos("Resources"), Msg: "no Resources mapping"}
	}
	p.res = newResolver(p)
	resolved, err := processIntrinsics(data, p.isJSON(data), p.res.options())
	if err != nil {
		return &Error{File: p.file, Msg: err.Error()}
	}
	if p.resolved, ok = resolved.(map[string]any); !ok {
		return &Error{File: p.file, Pos: Pos{1, 1}, Msg: "a template is a mapping with Resources"}
	}
	dir, err := filepath.Abs(filepath.Dir(p.file))
	if err != nil {
		return fmt.Errorf("samtemplate: %w", err)
	}
	p.tpl = &Template{File: p.file, Dir: dir, Functions: map[string]*Function{}}
	p.build()
	return nil
}

func (p *parser) isJSON(data []byte) bool {
	return strings.HasSuffix(p.file, ".json") || strings.HasPrefix(strings.TrimSpace(string(data)), "{")
}

// resources are the resolved resources' logical ids of type typ, sorted.
func (p *parser) resources(types ...string) []string {
	var ids []string
	for id, r := range p.rawResources() {
		if m, ok := r.(map[string]any); ok {
			if t, _ := m["Type"].(string); slices.Contains(types, t) {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

func (p *parser) rawResources() map[string]any {
	m, _ := p.raw["Resources"].(map[string]any)
	return m
}

func (p *parser) resolvedResource(id string) map[string]any {
	rs, _ := p.resolved["Resources"].(map[string]any)
	m, _ := rs[id].(map[string]any)
	return m
}

func resourceType(r any) string {
	m, _ := r.(map[string]any)
	t, _ := m["Type"].(string)
	return t
}

// decode decodes resource id (resolved, with props replaced when not nil)
// strictly into v, a goformation resource struct. A problem is reported at
// the resource.
func (p *parser) decode(id string, v any) bool {
	r := p.resolvedResource(id)
	b, err := json.Marshal(r)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		p.errorf(propertyPath(resPath(id, "Properties"), err), "%s", jsonProblem(err))
		return false
	}
	return true
}

// propertyPath is the path of the property a strict decode complained
// about (an unknown property, a property of the wrong type), else base.
func propertyPath(base string, err error) string {
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name, err := strconv.Unquote(f); err == nil {
			return base + "." + key(name)
		}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		field := te.Field
		if i := strings.LastIndex(field, "Properties."); i >= 0 {
			field = field[i+len("Properties."):]
		}
		return base + "." + field
	}
	return base
}

func resPath(id string, parts ...string) string {
	return strings.Join(append([]string{"Resources", id}, parts...), ".")
}

// jsonProblem rewords encoding/json's strict-decoding errors.
func jsonProblem(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	if f, ok := strings.CutPrefix(s, "unknown field "); ok {
		return "unknown property " + f
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if i := strings.LastIndex(field, "Properties."); i >= 0 {
			field = field[i+len("Properties."):]
		}
		return fmt.Sprintf("property %s: a %s where %s is expected", field, te.Value, jsonKind(te.Type.String()))
	}
	return s
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "*"):
		return jsonKind(goType[1:])
	case goType == "string":
		return "a string"
	case goType == "int" || goType == "float64" || goType == "int64":
		return "a number"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	}
	return "a mapping"
}
