// Package stack builds the deployable stack of a lawcket.yaml — the
// WebSocket API (routes, integrations, invoke permissions, the REQUEST
// authorizer, a throttled stage), the functions, the connections table and
// least-privilege IAM — and renders it as SAM or CloudFormation (through
// github.com/awslabs/goformation/v7 types) or Terraform (through
// hashicorp/hcl/v2's hclwrite). `lawcket template` and `lawcket table` are
// built on it.
//
// # Model
//
// New (and NewTableOnly, for `lawcket table`) translate a spec into a Stack
// in neutral terms: Tables (the connections table from
// dynamo.TableDefinition, the one definition every tool shares), Functions
// with the operations (Op) they call as Grants, and Routes. Each renderer
// maps the same Stack to its resources, and Function.Statements derives the
// IAM statements from the grants, so a policy never names an action the code
// does not call nor a resource outside this stack.
//
// goformation has no AWS::Serverless::WebSocketApi type and no
// LoggingConfig on AWS::Serverless::Function: the API is the raw
// AWS::ApiGatewayV2 resources in both SAM and CloudFormation output (they
// deploy the same under the transform), and a SAM function's log retention
// is an AWS::Logs::LogGroup named /aws/lambda/<function>.
//
// # Extending
//
// A feature (channels' subscriptions table, fan-out's queue and worker)
// implements Feature and is passed in Options.Features: its Apply adds
// Tables and Functions to the Stack and grants operations with Stack.Grant.
// A new kind of resource (an SQS queue) needs its case in cloudformation.go
// and terraform.go.
//
// # Lifecycle and concurrency
//
// A Stack is built once per command and rendered; it is not safe for
// concurrent mutation, and Render does not modify it.
package stack
