package stack

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/syncspec"
)

// Shape is how the routes are spread over functions.
type Shape string

// The shapes of app New builds.
const (
	// Single: the app's own function serves every route, $connect and
	// $disconnect included (it syncs rows with the dynamo plugin).
	Single Shape = "single"
	// Split: as Single, except that each function named by a route's
	// function: in lawcket.yaml gets its own Lambda serving those routes.
	Split Shape = "split"
	// Sync: the zero-code lawcket-sync Lambda (lawcket.yaml shipped beside
	// its bootstrap) serves $connect and $disconnect; the app's function
	// serves $default and the custom routes (split as in Split).
	Sync Shape = "sync"
)

// Shapes lists the shapes in the order usage shows them.
var Shapes = []Shape{Single, Split, Sync}

// Op is one API call a function makes; its IAM action is Action().
type Op string

// The DynamoDB and Management API operations lawcket's code paths issue.
const (
	GetItem    Op = "dynamodb:GetItem"
	PutItem    Op = "dynamodb:PutItem"
	DeleteItem Op = "dynamodb:DeleteItem"
	Query      Op = "dynamodb:Query"
	Scan       Op = "dynamodb:Scan"
	// PostToConnection, GetConnection and DeleteConnection are
	// execute-api:ManageConnections on …/STAGE/POST|GET|DELETE/@connections/*.
	PostToConnection Op = "POST"
	GetConnection    Op = "GET"
	DeleteConnection Op = "DELETE"
)

// Extra grants the app's functions may ask for beyond what every lawcket
// app does (Options.Allow).
var Extras = map[string]Op{
	"scan":              Scan,
	"get-connection":    GetConnection,
	"delete-connection": DeleteConnection,
}

// Options shape the stack New builds.
type Options struct {
	// Shape is Single when empty.
	Shape Shape
	// CodeURI is the directory of the app function's main package
	// (default "."), as sam build's go1.x builder expects it.
	CodeURI string
	// Code maps a function named in lawcket.yaml (a route's function, the
	// authorizer's function) to its directory; the default is ./cmd/NAME.
	Code map[string]string
	// SyncCodeURI is the directory sam build runs the lawcket-sync
	// Makefile target in (Sync shape; default ".", where lawcket.yaml is).
	SyncCodeURI string
	// Arch is arm64 (the default) or x86_64.
	Arch string
	// LogRetention is the functions' log retention in days (default 30).
	LogRetention int
	// Stage overrides api.stage (default prod).
	Stage string
	// Allow adds Extras (by name) to the app's functions' grants.
	Allow []string
	// Fanout adds the fan-out queue and its worker, lawcket-fanout (see
	// fanout.go).
	Fanout bool
	// Sweep, an EventBridge schedule expression (rate(15 minutes)), runs
	// lawcket-sync's sweep of gone connections on that schedule (Sync
	// shape, channels: section; see sweep.go).
	Sweep string
	// Features add their resources and grants after the core stack (see
	// Feature).
	Features []Feature
}

// Feature is the one place a feature (channels' subscriptions table, the
// fan-out queue and worker, …) extends the stack: Apply adds tables and
// functions to s and grants operations with s.Grant. A resource kind the
// renderers do not know yet (a queue) needs its case in cloudformation.go
// and terraform.go.
type Feature interface {
	Apply(s *Stack) error
}

// Stack is the deployable stack in the terms every output format shares.
type Stack struct {
	Spec       *syncspec.Spec
	Shape      Shape
	Stage      string
	Selection  string
	Arch       string
	Retention  int
	Throttling *syncspec.Throttling
	// Routes are $connect, $disconnect, $default, then the custom routes.
	Routes     []*Route
	Authorizer *Authorizer
	// Tables[0] is the connections table.
	Tables    []*Table
	Functions []*Function
	// Schedules are EventBridge rules invoking a function (the sweep).
	Schedules []*Schedule
	// Queues are SQS queues (the fan-out queue), each with a dead-letter
	// queue and its consumer.
	Queues []*Queue
	// API says the stack has a WebSocket API (false for `lawcket table`,
	// whose policy then names the API by parameter).
	API bool
	// Serverless renders a policy-only stack's ARNs as Fn::Join, naming the
	// Serverless Framework's WebsocketsApi and ${sls:stage}.
	Serverless bool
}

// Route is one route and the function that serves it.
type Route struct {
	Key      string
	Function *Function
	// Authorized: $connect with the authorizer.
	Authorized bool
}

// Authorizer is the REQUEST authorizer of $connect: a function of the stack
// or an existing Lambda's ARN.
type Authorizer struct {
	Function *Function
	ARN      string
	Identity []string
}

// Table is a DynamoDB table of the stack.
type Table struct {
	// ID is the logical id (CloudFormation) and, snake_cased, the
	// Terraform name.
	ID  string
	Def *dynamodb.CreateTableInput
	// TTL is the time-to-live attribute, "" without.
	TTL string
	// EnvVar is the environment variable that tells functions its name.
	EnvVar string
}

// Function is a Lambda of the stack.
type Function struct {
	// ID is the logical id, such as AppFunction.
	ID string
	// Name is the lawcket.yaml name ("app" for the main function, "sync"
	// for lawcket-sync).
	Name string
	// CodeURI is its source directory; BuildMethod go1.x or makefile.
	CodeURI     string
	BuildMethod string
	Description string
	// Timeout is the function's timeout in seconds (0: 29, API Gateway's
	// integration timeout).
	Timeout int
	// Env are its environment variables: literal values and tables' names.
	Env []EnvVar
	// Grants are what it may call, by table (or "" for the Management API).
	Grants []Grant
}

// EnvVar is an environment variable: Value, the name of Table, or the URL
// of Queue.
type EnvVar struct {
	Name  string
	Value string
	Table *Table
	Queue *Queue
}

// Queue is an SQS queue of the stack, with a dead-letter queue (after
// MaxReceives receives) and the function an event source mapping feeds its
// messages to (ReportBatchItemFailures).
type Queue struct {
	ID                string
	VisibilityTimeout int
	MaxReceives       int
	BatchSize         int
	Consumer          *Function
}

// Grant is a set of operations on one table and its indexes (Table nil:
// Ops are Management API methods on this stack's API and stage).
type Grant struct {
	Table *Table
	// Queue, when set, is what Ops (sqs:*) are on; Table is then nil.
	Queue *Queue
	// Ops are allowed on the table itself.
	Ops []Op
	// IndexOps (Query) are allowed on each of Indexes, the GSIs' names.
	IndexOps []Op
	Indexes  []string
}

// Functions' logical ids and names.
const (
	AppFunction  = "AppFunction"
	SyncFunction = "SyncFunction"
	TableID      = "ConnectionsTable"
)

// New builds the stack of spec.
func New(spec *syncspec.Spec, o Options) (*Stack, error) {
	if spec == nil {
		return nil, errors.New("stack: nil spec")
	}
	if o.Shape == "" {
		o.Shape = Single
	}
	if !slices.Contains(Shapes, o.Shape) {
		return nil, fmt.Errorf("stack: unknown shape %q", o.Shape)
	}
	if o.Arch == "" {
		o.Arch = "arm64"
	}
	if o.Arch != "arm64" && o.Arch != "x86_64" {
		return nil, fmt.Errorf("stack: architecture %q: want arm64 or x86_64", o.Arch)
	}
	if o.LogRetention == 0 {
		o.LogRetention = 30
	}
	if !slices.Contains(logRetentions, o.LogRetention) {
		return nil, fmt.Errorf("stack: log retention %d days: CloudWatch Logs accepts %v", o.LogRetention, logRetentions)
	}
	extras, err := extraOps(o.Allow)
	if err != nil {
		return nil, err
	}
	api := spec.API
	if api == nil {
		api = &syncspec.API{}
	}
	s := &Stack{
		Spec: spec, Shape: o.Shape, Stage: o.Stage, Selection: api.Selection, Arch: o.Arch,
		Retention: o.LogRetention, Throttling: api.Throttling, API: true,
	}
	if s.Stage == "" {
		s.Stage = api.Stage
	}
	if s.Stage == "" {
		s.Stage = "prod"
	}
	if s.Selection == "" {
		s.Selection = "$request.body.action"
	}
	table, err := ConnectionsTable(spec)
	if err != nil {
		return nil, err
	}
	s.Tables = []*Table{table}

	code := func(name string) string {
		if d, ok := o.Code[name]; ok {
			return d
		}
		return "./cmd/" + name
	}
	for name := range o.Code {
		if !namedFunction(api, name) {
			return nil, fmt.Errorf("stack: --code %s: lawcket.yaml names no function %s (its routes name %s)", name, name, quoteList(functionNames(api)))
		}
	}
	indexes := indexNames(spec)
	appURI := o.CodeURI
	if appURI == "" {
		appURI = "."
	}
	app := &Function{
		ID: AppFunction, Name: "app", CodeURI: appURI, BuildMethod: "go1.x",
		Description: "lawcket app: " + strings.Join(append([]string{"$connect", "$disconnect", "$default"}, api.RouteKeys()...), ", "),
		Env:         []EnvVar{{Name: syncspec.EnvTable, Table: table}},
		Grants:      messageGrants(table, indexes, extras, o.Shape != Sync),
	}
	s.Functions = append(s.Functions, app)
	connectFn := app
	var syncFn *Function
	if o.Shape == Sync {
		syncURI := o.SyncCodeURI
		if syncURI == "" {
			syncURI = "."
		}
		sync := &Function{
			ID: SyncFunction, Name: "sync", CodeURI: syncURI, BuildMethod: "makefile",
			Description: "lawcket-sync: one PutItem per $connect, one DeleteItem per $disconnect (lawcket.yaml beside the bootstrap)",
			Env:         []EnvVar{{Name: syncspec.EnvTable, Table: table}},
			Grants:      []Grant{{Table: table, Ops: []Op{PutItem, DeleteItem}}},
		}
		s.Functions = append(s.Functions, sync)
		connectFn, syncFn = sync, sync
		app.Description = "lawcket app: " + strings.Join(append([]string{"$default"}, api.RouteKeys()...), ", ")
	}
	named := map[string]*Function{}
	fn := func(name string, grants []Grant, what string) *Function {
		if f, ok := named[name]; ok {
			return f
		}
		f := &Function{
			ID: strings.ToUpper(name[:1]) + name[1:] + "Function", Name: name, CodeURI: code(name), BuildMethod: "go1.x",
			Description: what, Env: []EnvVar{{Name: syncspec.EnvTable, Table: table}}, Grants: grants,
		}
		if f.ID == AppFunction || f.ID == SyncFunction {
			f.ID = "Route" + f.ID
		}
		named[name] = f
		s.Functions = append(s.Functions, f)
		return f
	}
	s.Routes = []*Route{
		{Key: "$connect", Function: connectFn, Authorized: api.Authorizer != nil},
		{Key: "$disconnect", Function: connectFn},
		{Key: "$default", Function: app},
	}
	for _, r := range api.Routes {
		f := app
		if r.Function != "" && o.Shape != Single {
			f = fn(r.Function, messageGrants(table, indexes, extras, false), "lawcket route function "+r.Function)
			f.Description += " " + r.Key
		}
		s.Routes = append(s.Routes, &Route{Key: r.Key, Function: f})
	}
	if a := api.Authorizer; a != nil {
		s.Authorizer = &Authorizer{ARN: a.ARN, Identity: a.Identity}
		if a.Function != "" {
			if _, clash := named[a.Function]; clash {
				return nil, fmt.Errorf("stack: %s is both a route function and the authorizer", a.Function)
			}
			s.Authorizer.Function = fn(a.Function, nil, "lawcket $connect authorizer")
			s.Authorizer.Function.Env = nil
		}
	}
	if o.Fanout {
		s.addFanout(table, indexes, app, o.SyncCodeURI)
	}
	if o.Sweep != "" { // before channelsFeature, which grants the subscriptions' Scan to who scans
		if err := s.addSweep(o, table, syncFn); err != nil {
			return nil, err
		}
	}
	for _, f := range o.Features {
		if err := f.Apply(s); err != nil {
			return nil, err
		}
	}
	if spec.Channels != nil {
		if err := (channelsFeature{}).Apply(s); err != nil { // channels.go
			return nil, err
		}
	}
	return s, nil
}

// NewTableOnly is the stack of `lawcket table`: the connections table and
// one policy (for the functions the user deploys) with what the sync and the
// broadcaster call; the API and stage are parameters.
func NewTableOnly(spec *syncspec.Spec, id string, allow []string) (*Stack, error) {
	extras, err := extraOps(allow)
	if err != nil {
		return nil, err
	}
	table, err := ConnectionsTable(spec)
	if err != nil {
		return nil, err
	}
	table.ID = id
	s := &Stack{Spec: spec, Tables: []*Table{table}, Stage: "prod"}
	if spec.API != nil && spec.API.Stage != "" {
		s.Stage = spec.API.Stage
	}
	s.Functions = []*Function{{ID: id + "Policy", Name: "policy", Grants: messageGrants(table, indexNames(spec), extras, true)}}
	if spec.Channels != nil {
		// The channels plugin's table and grants, as in a whole stack.
		if err := (channelsFeature{}).Apply(s); err != nil { // channels.go
			return nil, err
		}
	}
	return s, nil
}

// messageGrants are what every function serving messages does: read the
// sender's row (Table.Get), broadcast (Query on the indexes, delete gone
// rows) and reply or post (POST @connections); with connect, also write
// the row ($connect); plus the extras (Scan on the table, GET and DELETE
// @connections).
func messageGrants(table *Table, indexes []string, extras []Op, connect bool) []Grant {
	ops := []Op{GetItem, DeleteItem}
	if connect {
		ops = []Op{GetItem, PutItem, DeleteItem}
	}
	var indexOps []Op
	if len(indexes) > 0 {
		indexOps = []Op{Query}
	}
	mgmt := []Op{PostToConnection}
	for _, op := range extras {
		if op == Scan {
			ops = append(ops, Scan)
		} else {
			mgmt = append(mgmt, op)
		}
	}
	return []Grant{{Table: table, Ops: ops, IndexOps: indexOps, Indexes: indexes}, {Ops: mgmt}}
}

// Grant adds g to the functions (a Feature's grants on its own table, or
// more Management API methods).
func (s *Stack) Grant(g Grant, functions ...*Function) {
	for _, f := range functions {
		f.Grants = append(f.Grants, g)
	}
}

// Function returns the function with the logical id, or nil.
func (s *Stack) Function(id string) *Function {
	for _, f := range s.Functions {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// Allowed reports whether f's grants include op on table (nil: the
// Management API) — on the table itself, or on index when index is not "".
func (f *Function) Allowed(table *Table, op Op, index string) bool {
	for _, g := range f.Grants {
		switch {
		case g.Table != table:
		case index == "" && slices.Contains(g.Ops, op):
			return true
		case index != "" && slices.Contains(g.IndexOps, op) && slices.Contains(g.Indexes, index):
			return true
		}
	}
	return false
}

// ConnectionsTable is the connections table of spec: dynamo.TableDefinition
// and dynamo.TimeToLiveInput, the one definition every tool shares.
func ConnectionsTable(spec *syncspec.Spec) (*Table, error) {
	in := dynamo.TableDefinition(spec, spec.Table)
	if err := Unsupported(in); err != nil {
		return nil, err
	}
	t := &Table{ID: TableID, Def: in, EnvVar: syncspec.EnvTable}
	if ttl := dynamo.TimeToLiveInput(spec, spec.Table); ttl != nil && ttl.TimeToLiveSpecification != nil &&
		aws.ToBool(ttl.TimeToLiveSpecification.Enabled) {
		t.TTL = aws.ToString(ttl.TimeToLiveSpecification.AttributeName)
	}
	return t, nil
}

// Unsupported names the CreateTableInput settings the renderers do not
// render: an error rather than a setting silently dropped.
func Unsupported(in *dynamodb.CreateTableInput) error {
	var names []string
	check := func(set bool, name string) {
		if set {
			names = append(names, name)
		}
	}
	check(in.DeletionProtectionEnabled != nil, "DeletionProtectionEnabled")
	check(in.GlobalTableSettingsReplicationMode != "", "GlobalTableSettingsReplicationMode")
	check(in.GlobalTableSourceArn != nil, "GlobalTableSourceArn")
	check(len(in.LocalSecondaryIndexes) > 0, "LocalSecondaryIndexes")
	check(in.OnDemandThroughput != nil, "OnDemandThroughput")
	check(in.ResourcePolicy != nil, "ResourcePolicy")
	check(in.SSESpecification != nil, "SSESpecification")
	check(in.StreamSpecification != nil, "StreamSpecification")
	check(in.TableClass != "", "TableClass")
	check(len(in.Tags) > 0, "Tags")
	check(len(in.VectorIndexes) > 0, "VectorIndexes")
	check(in.WarmThroughput != nil, "WarmThroughput")
	for _, g := range in.GlobalSecondaryIndexes {
		check(g.OnDemandThroughput != nil || g.WarmThroughput != nil, "GlobalSecondaryIndexes["+aws.ToString(g.IndexName)+"] throughput settings")
	}
	if len(names) > 0 {
		return fmt.Errorf("the table definition sets %s, which lawcket cannot render", strings.Join(names, ", "))
	}
	return nil
}

// logRetentions are the values CloudWatch Logs accepts for RetentionInDays.
var logRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func extraOps(allow []string) ([]Op, error) {
	var ops []Op
	for _, a := range allow {
		op, ok := Extras[a]
		if !ok {
			return nil, fmt.Errorf("stack: unknown grant %q (want scan, get-connection or delete-connection)", a)
		}
		if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	return ops, nil
}

func indexNames(spec *syncspec.Spec) []string {
	var out []string
	for _, f := range spec.IndexFields() {
		out = append(out, dynamo.FieldIndexName(f))
	}
	return out
}

func namedFunction(api *syncspec.API, name string) bool {
	return slices.Contains(functionNames(api), name)
}

func functionNames(api *syncspec.API) []string {
	var out []string
	for _, r := range api.Routes {
		if r.Function != "" && !slices.Contains(out, r.Function) {
			out = append(out, r.Function)
		}
	}
	if api.Authorizer != nil && api.Authorizer.Function != "" {
		out = append(out, api.Authorizer.Function)
	}
	return out
}

func quoteList(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}
