package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7/cloudformation/apigatewayv2"
	cfndynamodb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/lambda"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

// The resource types this package reads.
const (
	typeSAMWebSocketAPI = "AWS::Serverless::WebSocketApi"
	typeSAMFunction     = "AWS::Serverless::Function"
	typeLambdaFunction  = "AWS::Lambda::Function"
	typeSimpleTable     = "AWS::Serverless::SimpleTable"
	typeTable           = "AWS::DynamoDB::Table"
	typeAPI             = "AWS::ApiGatewayV2::Api"
	typeRoute           = "AWS::ApiGatewayV2::Route"
	typeIntegration     = "AWS::ApiGatewayV2::Integration"
	typeAuthorizer      = "AWS::ApiGatewayV2::Authorizer"
	typeRouteResponse   = "AWS::ApiGatewayV2::RouteResponse"
	typeStage           = "AWS::ApiGatewayV2::Stage"
)

// build fills p.tpl from the resolved template.
func (p *parser) build() {
	p.mergeGlobals()
	p.buildFunctions()
	p.buildTables()
	p.buildAPI()
}

// str is a resolved string value at path; a marker in it is reported there.
func (p *parser) str(path string, v *string) string {
	if v == nil {
		return ""
	}
	return p.check(path, *v)
}

func (p *parser) check(path, s string) string {
	if prob := p.res.problem(s); prob != "" {
		p.errorf(path, "%s", prob)
		return ""
	}
	return s
}

// mergeGlobals merges SAM's Globals.Function into every
// AWS::Serverless::Function, as SAM does: mappings merge key by key (the
// function's value wins), lists add up, a scalar of the function wins.
// (goformation's Globals decoder rejects the Globals section.)
func (p *parser) mergeGlobals() {
	globals, _ := p.resolved["Globals"].(map[string]any)
	fg, _ := globals["Function"].(map[string]any)
	if fg == nil {
		return
	}
	for _, id := range p.resources(typeSAMFunction) {
		r := p.resolvedResource(id)
		props, _ := r["Properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		r["Properties"] = mergeValue(fg, props)
	}
}

func mergeValue(global, local any) any {
	switch g := global.(type) {
	case map[string]any:
		l, ok := local.(map[string]any)
		if !ok {
			return local
		}
		out := make(map[string]any, len(g)+len(l))
		for k, v := range g {
			out[k] = v
		}
		for k, v := range l {
			if gv, ok := g[k]; ok {
				out[k] = mergeValue(gv, v)
			} else {
				out[k] = v
			}
		}
		return out
	case []any:
		if l, ok := local.([]any); ok {
			return append(append([]any{}, g...), l...)
		}
	}
	return local
}

// stringifyEnv turns number and boolean environment values into strings,
// as CloudFormation does, before the strict decode into map[string]string.
func (p *parser) stringifyEnv(id string) {
	props, _ := p.resolvedResource(id)["Properties"].(map[string]any)
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	for k, v := range vars {
		switch v.(type) {
		case float64, bool:
			vars[k] = scalarString(v, nil)
		case nil:
			delete(vars, k) // AWS::NoValue
		}
	}
}

func (p *parser) buildFunctions() {
	for _, id := range p.resources(typeSAMFunction) {
		p.stringifyEnv(id)
		var f serverless.Function
		if !p.decode(id, &f) {
			p.knownFunction(id)
			continue
		}
		props := functionProps{
			FunctionName: f.FunctionName, Runtime: f.Runtime, Handler: f.Handler, Metadata: f.AWSCloudFormationMetadata,
			Architectures: f.Architectures, Timeout: f.Timeout, MemorySize: f.MemorySize,
		}
		if f.CodeUri != nil {
			props.CodeURI = f.CodeUri.String
		}
		if f.Environment != nil {
			props.Environment, props.HasEnvironment = f.Environment.Variables, true
		}
		p.addFunction(p.function(id, props))
	}
	for _, id := range p.resources(typeLambdaFunction) {
		p.stringifyEnv(id)
		var f lambda.Function
		if !p.decode(id, &f) {
			p.knownFunction(id)
			continue
		}
		props := functionProps{
			FunctionName: f.FunctionName, Runtime: f.Runtime, Handler: f.Handler, Metadata: f.AWSCloudFormationMetadata,
			Architectures: f.Architectures, Timeout: f.Timeout, MemorySize: f.MemorySize,
		}
		if f.Environment != nil {
			props.Environment, props.HasEnvironment = f.Environment.Variables, true
		}
		p.addFunction(p.function(id, props))
	}
}

// functionProps are the properties AWS::Serverless::Function and
// AWS::Lambda::Function share, whose goformation types differ; CodeURI is
// SAM's only.
type functionProps struct {
	FunctionName, Runtime, Handler, CodeURI *string
	Metadata                                map[string]any
	Architectures                           []string
	Timeout, MemorySize                     *int
	Environment                             map[string]string
	HasEnvironment                          bool
}

// function is the Function of the decoded properties of resource id.
func (p *parser) function(id string, f functionProps) *Function {
	fn := &Function{
		LogicalID:    id,
		Name:         p.str(resPath(id, "Properties", "FunctionName"), f.FunctionName),
		Runtime:      p.str(resPath(id, "Properties", "Runtime"), f.Runtime),
		Handler:      p.str(resPath(id, "Properties", "Handler"), f.Handler),
		Timeout:      DefaultFunctionTimeout,
		MemorySize:   128,
		Architecture: "x86_64",
		Pos:          p.pos(resPath(id)),
	}
	if f.CodeURI != nil {
		if dir := p.check(resPath(id, "Properties", "CodeUri"), *f.CodeURI); dir != "" {
			fn.CodeURI = p.codeDir(id, dir)
		}
	}
	if bm, ok := f.Metadata["BuildMethod"].(string); ok {
		fn.BuildMethod = p.check(resPath(id, "Metadata", "BuildMethod"), bm)
	}
	if len(f.Architectures) == 1 {
		fn.Architecture = f.Architectures[0]
	}
	if f.Timeout != nil {
		fn.Timeout = *f.Timeout
	}
	if f.MemorySize != nil {
		fn.MemorySize = *f.MemorySize
	}
	if f.HasEnvironment {
		fn.Environment = p.env(id, f.Environment)
	}
	return fn
}

// knownFunction records a function whose properties did not decode (that
// error is reported), so that the routes naming it report nothing more.
func (p *parser) knownFunction(id string) {
	name, _ := p.res.localName(id, "FunctionName").(string)
	if p.res.problem(name) != "" || name == "" {
		name = id
	}
	p.tpl.Functions[id] = &Function{LogicalID: id, Name: name, Timeout: DefaultFunctionTimeout, Architecture: "x86_64", Pos: p.pos(resPath(id))}
}

func (p *parser) addFunction(fn *Function) {
	if fn.Name == "" {
		fn.Name = fn.LogicalID
	}
	if fn.Timeout < 1 || fn.Timeout > 900 {
		p.errorf(resPath(fn.LogicalID, "Properties", "Timeout"), "%d seconds: Lambda allows 1 to 900", fn.Timeout)
	}
	if fn.Architecture != "x86_64" && fn.Architecture != "arm64" {
		p.errorf(resPath(fn.LogicalID, "Properties", "Architectures"), "%q: want x86_64 or arm64", fn.Architecture)
	}
	p.tpl.Functions[fn.LogicalID] = fn
}

// codeDir is CodeUri as an absolute directory, relative to the template.
func (p *parser) codeDir(id, uri string) string {
	if strings.HasPrefix(uri, "s3://") {
		return "" // deployed code: only --function can run it
	}
	dir := uri
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.tpl.Dir, dir)
	}
	st, err := os.Stat(dir)
	if err != nil {
		p.errorf(resPath(id, "Properties", "CodeUri"), "%s: %v", uri, unwrapPathError(err))
		return ""
	}
	if !st.IsDir() {
		p.errorf(resPath(id, "Properties", "CodeUri"), "%s is not a directory", uri)
		return ""
	}
	return dir
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// env checks the resolved environment variables (name rules as Lambda's)
// and rewrites the API's execute-api URLs to the local gateway.
func (p *parser) env(id string, vars map[string]string) map[string]string {
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		path := resPath(id, "Properties", "Environment", "Variables", key(k))
		if !envNameOK(k) {
			p.errorf(path, "%q is not a valid variable name (letters, digits and _, not starting with a digit)", k)
			continue
		}
		if strings.HasPrefix(k, "AWS_") && lambdaReserved[k] {
			p.errorf(path, "%s is reserved by Lambda and cannot be set", k)
			continue
		}
		out[k] = p.localURL(p.check(path, v))
	}
	return out
}

// lambdaReserved are the variables Lambda refuses in Environment.
var lambdaReserved = map[string]bool{
	"AWS_REGION": true, "AWS_DEFAULT_REGION": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true,
	"AWS_SESSION_TOKEN": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_RUNTIME_API": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_EXECUTION_ENV": true,
}

func envNameOK(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// localURL rewrites the WebSocket API's execute-api URL (https:// for the
// Management API, wss:// for clients) to the local gateway, when
// Options.Endpoint is set.
func (p *parser) localURL(v string) string {
	o := &p.opts
	if o.Endpoint == "" {
		return v
	}
	host := o.APIID + ".execute-api." + o.Region + ".amazonaws.com"
	v = strings.ReplaceAll(v, "https://"+host, "http://"+o.Endpoint)
	return strings.ReplaceAll(v, "wss://"+host, "ws://"+o.Endpoint)
}

func (p *parser) buildTables() {
	for _, id := range p.resources(typeTable, typeSimpleTable) {
		var t *Table
		if resourceType(p.rawResources()[id]) == typeTable {
			t = p.table(id)
		} else {
			t = p.simpleTable(id)
		}
		if t != nil {
			t.Pos = p.pos(resPath(id))
			p.tpl.Tables = append(p.tpl.Tables, t)
		}
	}
}

func (p *parser) table(id string) *Table {
	var t cfndynamodb.Table
	if !p.decode(id, &t) {
		return nil
	}
	props := func(parts ...string) string { return resPath(id, append([]string{"Properties"}, parts...)...) }
	name := p.str(props("TableName"), t.TableName)
	if name == "" {
		name = id
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest}
	attrs := map[string]bool{}
	for i, a := range t.AttributeDefinitions {
		switch a.AttributeType {
		case "S", "N", "B":
		default:
			p.errorf(props("AttributeDefinitions", fmt.Sprint(i), "AttributeType"), "%q: want S, N or B", a.AttributeType)
		}
		attrs[a.AttributeName] = true
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}
	keySchema := func(path string, ks []cfndynamodb.Table_KeySchema) []types.KeySchemaElement {
		if len(ks) == 0 || len(ks) > 2 {
			p.errorf(path, "a key schema has a HASH key and at most one RANGE key")
		}
		var out []types.KeySchemaElement
		for i, k := range ks {
			if k.KeyType != "HASH" && k.KeyType != "RANGE" {
				p.errorf(path+"."+fmt.Sprint(i)+".KeyType", "%q: want HASH or RANGE", k.KeyType)
			}
			if !attrs[k.AttributeName] {
				p.errorf(path+"."+fmt.Sprint(i)+".AttributeName", "%s is not in AttributeDefinitions", k.AttributeName)
			}
			out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
		}
		return out
	}
	projection := func(pr *cfndynamodb.Table_Projection) *types.Projection {
		out := &types.Projection{ProjectionType: types.ProjectionTypeAll}
		if pr != nil && pr.ProjectionType != nil {
			out.ProjectionType = types.ProjectionType(*pr.ProjectionType)
		}
		if pr != nil && len(pr.NonKeyAttributes) > 0 {
			out.NonKeyAttributes = pr.NonKeyAttributes
		}
		return out
	}
	in.KeySchema = keySchema(props("KeySchema"), t.KeySchema)
	provisioned := t.BillingMode != nil && *t.BillingMode == "PROVISIONED"
	if provisioned {
		in.BillingMode = types.BillingModeProvisioned
		in.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}
		if pt := t.ProvisionedThroughput; pt != nil {
			in.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(int64(pt.ReadCapacityUnits)), WriteCapacityUnits: aws.Int64(int64(pt.WriteCapacityUnits))}
		}
	}
	for i, g := range t.GlobalSecondaryIndexes {
		gsi := types.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(props("GlobalSecondaryIndexes", fmt.Sprint(i), "KeySchema"), g.KeySchema),
			Projection: projection(g.Projection),
		}
		if provisioned {
			gsi.ProvisionedThroughput = in.ProvisionedThroughput
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	for i, l := range t.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName:  aws.String(l.IndexName),
			KeySchema:  keySchema(props("LocalSecondaryIndexes", fmt.Sprint(i), "KeySchema"), l.KeySchema),
			Projection: projection(l.Projection),
		})
	}
	out := &Table{LogicalID: id, Name: name, Definition: in}
	if ttl := t.TimeToLiveSpecification; ttl != nil && ttl.Enabled && ttl.AttributeName != nil {
		out.TTLAttribute = *ttl.AttributeName
	}
	return out
}

// simpleTable is an AWS::Serverless::SimpleTable: one hash key (default
// id, a String), on-demand billing.
func (p *parser) simpleTable(id string) *Table {
	var t serverless.SimpleTable
	if !p.decode(id, &t) {
		return nil
	}
	name := p.str(resPath(id, "Properties", "TableName"), t.TableName)
	if name == "" {
		name = id
	}
	keyName, keyType := "id", "S"
	if pk := t.PrimaryKey; pk != nil {
		if pk.Name != nil {
			keyName = *pk.Name
		}
		switch pk.Type {
		case "String":
			keyType = "S"
		case "Number":
			keyType = "N"
		case "Binary":
			keyType = "B"
		default:
			p.errorf(resPath(id, "Properties", "PrimaryKey", "Type"), "%q: want String, Number or Binary", pk.Type)
		}
	}
	return &Table{LogicalID: id, Name: name, Definition: &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(keyName), AttributeType: types.ScalarAttributeType(keyType)}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(keyName), KeyType: types.KeyTypeHash}},
	}}
}

// functionFor is the logical id of the function an ARN, an integration or
// authorizer URI (arn:aws:apigateway:REGION:lambda:path/2015-03-31/
// functions/FUNCTION_ARN/invocations) or a bare function name names.
func (p *parser) functionFor(path, v string) string {
	v = p.check(path, v)
	if v == "" {
		return ""
	}
	s := v
	if i := strings.Index(s, ":path/2015-03-31/functions/"); i >= 0 {
		s = strings.TrimSuffix(s[i+len(":path/2015-03-31/functions/"):], "/invocations")
	}
	if i := strings.Index(s, ":function:"); i >= 0 {
		s, _, _ = strings.Cut(s[i+len(":function:"):], ":") // drop a qualifier
	}
	for _, id := range sortedKeys(p.tpl.Functions) {
		if p.tpl.Functions[id].Name == s {
			return id
		}
	}
	p.errorf(path, "%q names no function of this template", v)
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// WebSocketAPIProperties are the Properties of an
// AWS::Serverless::WebSocketApi (aws-sam-translator 1.110's SamWebSocketApi).
// goformation v7.14 has no type for this resource, so its resolved
// Properties are decoded here, strictly, from goformation's generic
// resource map; only what `lawcket dev` runs is typed, the rest is accepted
// as SAM accepts it.
type WebSocketAPIProperties struct {
	Name                      *string             `json:"Name,omitempty"`
	RouteSelectionExpression  string              `json:"RouteSelectionExpression"`
	Routes                    map[string]SAMRoute `json:"Routes"`
	Auth                      *SAMWebSocketAuth   `json:"Auth,omitempty"`
	StageName                 *string             `json:"StageName,omitempty"`
	StageVariables            map[string]string   `json:"StageVariables,omitempty"`
	ApiKeySelectionExpression *string             `json:"ApiKeySelectionExpression,omitempty"`
	AccessLogSettings         map[string]any      `json:"AccessLogSettings,omitempty"`
	DefaultRouteSettings      map[string]any      `json:"DefaultRouteSettings,omitempty"`
	Description               *string             `json:"Description,omitempty"`
	DisableExecuteApiEndpoint *bool               `json:"DisableExecuteApiEndpoint,omitempty"`
	DisableSchemaValidation   *bool               `json:"DisableSchemaValidation,omitempty"`
	Domain                    map[string]any      `json:"Domain,omitempty"`
	FailOnWarnings            *bool               `json:"FailOnWarnings,omitempty"`
	IpAddressType             *string             `json:"IpAddressType,omitempty"`
	PropagateTags             *bool               `json:"PropagateTags,omitempty"`
	RouteSettings             map[string]any      `json:"RouteSettings,omitempty"`
	Tags                      map[string]string   `json:"Tags,omitempty"`
}

// SAMRoute is one entry of a WebSocketApi's Routes.
type SAMRoute struct {
	FunctionArn                      string         `json:"FunctionArn"`
	IntegrationTimeout               *int           `json:"IntegrationTimeout,omitempty"`
	RouteResponseSelectionExpression *string        `json:"RouteResponseSelectionExpression,omitempty"`
	ApiKeyRequired                   *bool          `json:"ApiKeyRequired,omitempty"`
	ModelSelectionExpression         *string        `json:"ModelSelectionExpression,omitempty"`
	OperationName                    *string        `json:"OperationName,omitempty"`
	RequestModels                    map[string]any `json:"RequestModels,omitempty"`
	RequestParameters                map[string]any `json:"RequestParameters,omitempty"`
}

// SAMWebSocketAuth is a WebSocketApi's Auth (on $connect).
type SAMWebSocketAuth struct {
	AuthType       string   `json:"AuthType"`
	AuthArn        *string  `json:"AuthArn,omitempty"`
	IdentitySource []string `json:"IdentitySource,omitempty"`
	InvokeRole     *string  `json:"InvokeRole,omitempty"`
	Name           *string  `json:"Name,omitempty"`
}

func (p *parser) buildAPI() {
	sam := p.resources(typeSAMWebSocketAPI)
	var raw []string
	for _, id := range p.resources(typeAPI) {
		if pt, _ := rawProps(p.rawResources()[id])["ProtocolType"].(string); strings.EqualFold(pt, "WEBSOCKET") {
			raw = append(raw, id)
		}
	}
	all := append(append([]string{}, sam...), raw...)
	switch len(all) {
	case 0:
		p.errorf("Resources", "no WebSocket API: want an %s, or an %s with ProtocolType WEBSOCKET", typeSAMWebSocketAPI, typeAPI)
		return
	case 1:
	default:
		for _, id := range all[1:] {
			p.errorf(resPath(id), "a second WebSocket API (the first is %s): lawcket dev runs one per template", all[0])
		}
		return
	}
	if len(sam) == 1 {
		p.samAPI(sam[0])
	} else {
		p.rawAPI(raw[0])
	}
	if a := p.tpl.API; a != nil {
		if len(a.Routes) == 0 {
			p.errorf(resPath(a.LogicalID), "the API has no routes")
		}
		p.checkAPI(a)
	}
}

var stageNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// checkAPI checks what lawcket dev would otherwise refuse without a
// position: the route selection expression and the stage name.
func (p *parser) checkAPI(a *API) {
	propPath := func(name string) string {
		if resourceType(p.rawResources()[a.LogicalID]) == typeSAMWebSocketAPI || name == "RouteSelectionExpression" {
			return resPath(a.LogicalID, "Properties", name)
		}
		for _, sid := range p.resources(typeStage) {
			return resPath(sid, "Properties", name)
		}
		return resPath(a.LogicalID)
	}
	if e := a.RouteSelectionExpression; e != "" {
		rest, ok := strings.CutPrefix(e, "$request.body.")
		if !ok {
			if inner, braced := strings.CutPrefix(e, "${request.body."); braced && strings.HasSuffix(inner, "}") {
				rest, ok = strings.TrimSuffix(inner, "}"), true
			}
		}
		if !ok || rest == "" || strings.Contains(rest, "..") || strings.HasSuffix(rest, ".") {
			p.errorf(propPath("RouteSelectionExpression"), "%q: a WebSocket API selects routes with $request.body.NAME (or ${request.body.NAME})", e)
		}
	}
	if a.Stage != "" && !stageNameRE.MatchString(a.Stage) {
		p.errorf(propPath("StageName"), "stage %q: 1 to 128 letters, digits, - and _", a.Stage)
	}
}

func (p *parser) samAPI(id string) {
	r := p.resolvedResource(id)
	props, _ := r["Properties"].(map[string]any)
	b, _ := json.Marshal(props)
	var w WebSocketAPIProperties
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		p.errorf(propertyPath(resPath(id, "Properties"), err), "%s", jsonProblem(err))
		return
	}
	pp := func(parts ...string) string { return resPath(id, append([]string{"Properties"}, parts...)...) }
	api := &API{
		LogicalID:                id,
		Name:                     p.str(pp("Name"), w.Name),
		RouteSelectionExpression: p.check(pp("RouteSelectionExpression"), w.RouteSelectionExpression),
		Stage:                    DefaultSAMStage,
		StageVariables:           w.StageVariables,
		Routes:                   map[string]*Route{},
		Pos:                      p.pos(resPath(id)),
	}
	if api.Name == "" {
		api.Name = id
	}
	if w.StageName != nil {
		api.Stage = p.check(pp("StageName"), *w.StageName)
	}
	if w.RouteSelectionExpression == "" {
		p.errorf(pp(), "RouteSelectionExpression is required")
	}
	// RouteResponses declared for SAM's generated route ids.
	twoWay := p.routeResponses()
	for _, k := range sortedKeys(w.Routes) {
		rt := w.Routes[k]
		path := pp("Routes", key(k))
		route := &Route{Key: k, Pos: p.pos(path)}
		if rt.FunctionArn == "" {
			p.errorf(path, "FunctionArn is required")
		} else {
			route.Function = p.functionFor(path+".FunctionArn", rt.FunctionArn)
		}
		if rt.IntegrationTimeout != nil {
			route.TimeoutMillis = *rt.IntegrationTimeout
		}
		route.TwoWay = rt.RouteResponseSelectionExpression != nil && twoWay[samRouteID(id, k)]
		api.Routes[k] = route
	}
	if a := w.Auth; a != nil {
		switch strings.ToUpper(a.AuthType) {
		case "CUSTOM":
			if _, ok := w.Routes["$connect"]; !ok {
				p.errorf(pp("Auth"), "an authorizer needs a $connect route")
			}
			auth := &Authorizer{Name: id + "ConnectAuthorizer", IdentitySource: a.IdentitySource, Pos: p.pos(pp("Auth"))}
			if a.Name != nil {
				auth.Name = *a.Name
			}
			if a.AuthArn == nil {
				p.errorf(pp("Auth"), "AuthArn is required with AuthType CUSTOM")
			} else {
				auth.Function = p.functionFor(pp("Auth", "AuthArn"), *a.AuthArn)
			}
			p.identitySources(pp("Auth", "IdentitySource"), auth.IdentitySource)
			api.Authorizer = auth
		case "NONE":
		case "AWS_IAM":
			p.errorf(pp("Auth", "AuthType"), "AWS_IAM authorization is not emulated by lawcket dev")
		default:
			p.errorf(pp("Auth", "AuthType"), "%q: want CUSTOM, AWS_IAM or NONE", a.AuthType)
		}
	}
	p.tpl.API = api
}

// routeResponses are the logical ids of routes with a $default
// RouteResponse.
func (p *parser) routeResponses() map[string]bool {
	out := map[string]bool{}
	for _, id := range p.resources(typeRouteResponse) {
		var rr apigatewayv2.RouteResponse
		if !p.decode(id, &rr) {
			continue
		}
		if rr.RouteResponseKey == "$default" {
			out[p.check(resPath(id, "Properties", "RouteId"), rr.RouteId)] = true
		}
	}
	return out
}

// identitySources checks WebSocket identity sources
// (route.request.header.NAME, route.request.querystring.NAME, also
// stageVariables.NAME and context.NAME).
func (p *parser) identitySources(path string, srcs []string) {
	for i, s := range srcs {
		ok := false
		for _, pre := range []string{"route.request.header.", "route.request.querystring.", "stageVariables.", "context."} {
			if rest, found := strings.CutPrefix(s, pre); found && rest != "" {
				ok = true
			}
		}
		if !ok {
			p.errorf(path+"."+fmt.Sprint(i), "%q: want route.request.header.NAME or route.request.querystring.NAME (or stageVariables.NAME, context.NAME)", s)
		}
	}
}

// rawAPI reads an AWS::ApiGatewayV2::Api with its Route, Integration,
// Authorizer, RouteResponse and Stage resources.
func (p *parser) rawAPI(id string) {
	var a apigatewayv2.Api
	if !p.decode(id, &a) {
		return
	}
	pp := func(parts ...string) string { return resPath(id, append([]string{"Properties"}, parts...)...) }
	api := &API{
		LogicalID:                id,
		Name:                     p.str(pp("Name"), a.Name),
		RouteSelectionExpression: p.str(pp("RouteSelectionExpression"), a.RouteSelectionExpression),
		Routes:                   map[string]*Route{},
		Pos:                      p.pos(resPath(id)),
	}
	if api.Name == "" {
		api.Name = id
	}
	if api.RouteSelectionExpression == "" {
		p.errorf(pp(), "RouteSelectionExpression is required for a WEBSOCKET API")
	}
	apiID := p.opts.APIID
	ours := func(path, v string) bool { return p.check(path, v) == apiID }

	integrations := map[string]string{} // integration id → function id
	timeouts := map[string]int{}
	for _, iid := range p.resources(typeIntegration) {
		var in apigatewayv2.Integration
		if !p.decode(iid, &in) || !ours(resPath(iid, "Properties", "ApiId"), in.ApiId) {
			continue
		}
		ip := func(parts ...string) string { return resPath(iid, append([]string{"Properties"}, parts...)...) }
		if in.IntegrationType != "AWS_PROXY" {
			p.errorf(ip("IntegrationType"), "%q: lawcket dev runs Lambda proxy integrations (AWS_PROXY) only", in.IntegrationType)
			continue
		}
		if in.IntegrationUri == nil {
			p.errorf(ip(), "IntegrationUri is required")
			continue
		}
		integrations[iid] = p.functionFor(ip("IntegrationUri"), *in.IntegrationUri)
		if in.TimeoutInMillis != nil {
			timeouts[iid] = *in.TimeoutInMillis
		}
	}
	authorizers := map[string]*Authorizer{}
	for _, aid := range p.resources(typeAuthorizer) {
		var au apigatewayv2.Authorizer
		if !p.decode(aid, &au) || !ours(resPath(aid, "Properties", "ApiId"), au.ApiId) {
			continue
		}
		ap := func(parts ...string) string { return resPath(aid, append([]string{"Properties"}, parts...)...) }
		if au.AuthorizerType != "REQUEST" {
			p.errorf(ap("AuthorizerType"), "%q: a WebSocket API's Lambda authorizer is of type REQUEST", au.AuthorizerType)
			continue
		}
		auth := &Authorizer{Name: au.Name, IdentitySource: au.IdentitySource, Pos: p.pos(resPath(aid))}
		if au.AuthorizerUri == nil {
			p.errorf(ap(), "AuthorizerUri is required")
		} else {
			auth.Function = p.functionFor(ap("AuthorizerUri"), *au.AuthorizerUri)
		}
		p.identitySources(ap("IdentitySource"), au.IdentitySource)
		authorizers[aid] = auth
	}
	twoWay := p.routeResponses()
	for _, rid := range p.resources(typeRoute) {
		var rt apigatewayv2.Route
		if !p.decode(rid, &rt) || !ours(resPath(rid, "Properties", "ApiId"), rt.ApiId) {
			continue
		}
		rp := func(parts ...string) string { return resPath(rid, append([]string{"Properties"}, parts...)...) }
		k := p.check(rp("RouteKey"), rt.RouteKey)
		if _, dup := api.Routes[k]; dup {
			p.errorf(rp("RouteKey"), "a second route %s", k)
			continue
		}
		route := &Route{Key: k, Pos: p.pos(resPath(rid))}
		target := p.str(rp("Target"), rt.Target)
		iid, ok := strings.CutPrefix(target, "integrations/")
		if _, known := integrations[iid]; !ok || !known {
			p.errorf(rp("Target"), "%q: want integrations/ID of an AWS_PROXY integration of this API (!Join [/, [integrations, !Ref Integration]])", target)
		} else {
			route.Function = integrations[iid]
			route.TimeoutMillis = timeouts[iid]
		}
		route.TwoWay = rt.RouteResponseSelectionExpression != nil && twoWay[rid]
		if at := p.str(rp("AuthorizationType"), rt.AuthorizationType); at != "" && at != "NONE" {
			switch {
			case at != "CUSTOM":
				p.errorf(rp("AuthorizationType"), "%q: lawcket dev emulates CUSTOM (Lambda) authorizers only", at)
			case k != "$connect":
				p.errorf(rp("AuthorizationType"), "an authorizer runs on $connect only")
			default:
				aid := p.str(rp("AuthorizerId"), rt.AuthorizerId)
				if auth, ok := authorizers[aid]; ok {
					api.Authorizer = auth
				} else {
					p.errorf(rp("AuthorizerId"), "%q names no REQUEST authorizer of this API", aid)
				}
			}
		}
		api.Routes[k] = route
	}
	for _, sid := range p.resources(typeStage) {
		var st apigatewayv2.Stage
		if !p.decode(sid, &st) || !ours(resPath(sid, "Properties", "ApiId"), st.ApiId) {
			continue
		}
		if api.Stage != "" {
			continue // the first stage by logical id; --stage picks another
		}
		api.Stage = p.check(resPath(sid, "Properties", "StageName"), st.StageName)
		if vars, ok := st.StageVariables.(map[string]any); ok {
			api.StageVariables = map[string]string{}
			for k, v := range vars {
				api.StageVariables[k] = scalarString(v, func() string { return "" })
			}
		}
	}
	p.tpl.API = api
}
