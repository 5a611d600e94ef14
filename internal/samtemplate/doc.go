// Package samtemplate reads the SAM or CloudFormation template a user
// deploys and models the part `lawcket dev --template` runs: the WebSocket
// API (its routes, route selection expression, stage and $connect
// authorizer), each route's function (code, build method, environment) and
// the DynamoDB tables.
//
// # What it reads
//
// The template is parsed twice from the same bytes: once with
// go.yaml.in/yaml/v3 nodes for the positions of errors (YAML and JSON
// templates alike), and once by github.com/awslabs/goformation/v7's
// intrinsics processor (short-form tags, Fn::If with Conditions, Fn::Join,
// Fn::Select, Fn::FindInMap, ...), whose Ref, Fn::GetAtt and Fn::Sub handlers
// are replaced through ProcessorOptions.IntrinsicHandlerOverrides so that they
// resolve to LOCAL values (see Options): a !Ref to a table is the table's
// local name, !GetAtt Fn.Arn a local function ARN, !Ref to the API the local
// API id, a parameter its override or Default. A value that cannot be
// resolved locally (Fn::ImportValue, an unknown resource or attribute, a
// parameter without a value) is an error only where this package uses it.
//
// Each resource of a type goformation knows is then decoded strictly into
// goformation's struct (serverless.Function, serverless.SimpleTable,
// dynamodb.Table, apigatewayv2.Api, Route, Integration, Authorizer,
// RouteResponse, Stage): an unknown property is an error. goformation v7.14
// has no AWS::Serverless::WebSocketApi (aws-sam-translator 1.110 has it), and
// its template decoder fails a whole template on any type it does not know
// and on SAM Globals; so resources are decoded one by one, SAM Globals are
// merged into functions here, and AWS::Serverless::WebSocketApi is decoded
// into this package's WebSocketAPIProperties.
//
// Errors are collected (all of them, not the first only), each at
// FILE:LINE:COL of the template when the node is known. A bad template never
// panics the reader (a fuzz target checks it).
//
// # Concurrency
//
// Load and Parse may be called concurrently (goformation's YAML tag
// registration is process-global, so its processing is serialized here). A
// Template is plain data.
package samtemplate
