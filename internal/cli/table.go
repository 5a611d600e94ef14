package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/syncspec"
)

const tableAbout = `
Print the connections table that lawcket.yaml describes, for your deployment
tool: key connectionId (String, HASH), on-demand billing, time to live on
expiresAt when the spec sets ttl, one global secondary index per "index: true"
field (projection ALL, named as lawcket's Query expects), and the IAM
permissions the sync Lambda and the broadcaster need: dynamodb:PutItem,
DeleteItem, Query and Scan on the table and its indexes, and
execute-api:ManageConnections.

--format cloudformation (the default) prints a complete template with the
table (AWS::DynamoDB::Table) and a managed policy (AWS::IAM::ManagedPolicy);
sam prints the same as a SAM template; serverless prints the provider.iam and
resources sections to merge into serverless.yml; terraform prints an
aws_dynamodb_table and an aws_iam_policy_document data source.
--name sets the logical id (CloudFormation) from which every other name is
derived (terraform: its snake_case form).`

func runTable(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("table", "lawcket table [-c lawcket.yaml] [--format cloudformation|sam|serverless|terraform] [--name LogicalId]", tableAbout, stderr)
	config := configFlag(f.FlagSet)
	format := newChoice("cloudformation", "cloudformation", "sam", "serverless", "terraform")
	f.Var(format, "format", "output `format`: cloudformation, sam, serverless or terraform")
	name := f.String("name", "ConnectionsTable", "the table's logical `id` (letters and digits)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if !logicalID.MatchString(*name) {
		return f.usageError(stderr, "--name %q: a logical id is 1 to 255 letters and digits, starting with a letter", *name)
	}
	spec, ok := loadSpec(*config, stderr)
	if !ok {
		return ExitFindings
	}
	def, err := newTableDef(spec, *name)
	if err != nil {
		fmt.Fprintf(stderr, "lawcket table: %v\n", err)
		return ExitFindings
	}
	var out []byte
	switch format.value {
	case "terraform":
		out = terraform(def)
	default:
		out, err = cloudFormation(def, format.value)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lawcket table: %v\n", err)
		return ExitFindings
	}
	stdout.Write(out)
	return ExitOK
}

// logicalID is what CloudFormation accepts as a logical id (we also require a
// leading letter so the terraform name derived from it is an identifier).
var logicalID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,254}$`)

// The IAM actions lawcket needs: the sync Lambda writes and deletes rows, the
// broadcaster reads them (Query on an index, Scan for all), deletes gone ones
// and posts through the API Gateway Management API.
var (
	tableActions      = []string{"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"}
	connectionActions = []string{"execute-api:ManageConnections"}
)

// tableDef is the table of dynamo.TableDefinition in the terms every output
// format shares.
type tableDef struct {
	LogicalID  string
	Name       string
	Billing    string // PAY_PER_REQUEST or PROVISIONED
	Attributes []attribute
	Keys       []key
	Throughput *throughput // provisioned billing only
	Indexes    []index
	TTL        string // the TTL attribute; "" without ttl
}

type attribute struct{ Name, Type string } // Type: S, N or B

type key struct{ Name, Type string } // Type: HASH or RANGE

type throughput struct{ Read, Write int64 }

type index struct {
	Name       string
	Keys       []key
	Projection string // ALL, KEYS_ONLY or INCLUDE
	NonKey     []string
	Throughput *throughput
}

// newTableDef translates dynamo.TableDefinition and dynamo.TimeToLiveInput,
// the one definition of the table (the same the tests and `lawcket dev`
// create it from). A setting no output format renders is an error rather
// than silently dropped.
func newTableDef(spec *syncspec.Spec, logicalID string) (*tableDef, error) {
	in := dynamo.TableDefinition(spec, spec.Table)
	if in == nil {
		return nil, fmt.Errorf("no table definition for %s", spec.File)
	}
	if err := unsupported(in); err != nil {
		return nil, err
	}
	d := &tableDef{
		LogicalID:  logicalID,
		Name:       aws.ToString(in.TableName),
		Billing:    string(in.BillingMode),
		Keys:       keys(in.KeySchema),
		Throughput: provisioned(in.ProvisionedThroughput),
	}
	if d.Billing == "" {
		d.Billing = string(types.BillingModeProvisioned) // CreateTable's default
	}
	for _, a := range in.AttributeDefinitions {
		d.Attributes = append(d.Attributes, attribute{aws.ToString(a.AttributeName), string(a.AttributeType)})
	}
	for _, g := range in.GlobalSecondaryIndexes {
		ix := index{Name: aws.ToString(g.IndexName), Keys: keys(g.KeySchema), Projection: "ALL", Throughput: provisioned(g.ProvisionedThroughput)}
		if g.Projection != nil {
			if g.Projection.ProjectionType != "" {
				ix.Projection = string(g.Projection.ProjectionType)
			}
			ix.NonKey = g.Projection.NonKeyAttributes
		}
		d.Indexes = append(d.Indexes, ix)
	}
	if ttl := dynamo.TimeToLiveInput(spec, spec.Table); ttl != nil && ttl.TimeToLiveSpecification != nil &&
		aws.ToBool(ttl.TimeToLiveSpecification.Enabled) {
		d.TTL = aws.ToString(ttl.TimeToLiveSpecification.AttributeName)
	}
	return d, nil
}

func keys(ks []types.KeySchemaElement) []key {
	var out []key
	for _, k := range ks {
		out = append(out, key{aws.ToString(k.AttributeName), string(k.KeyType)})
	}
	return out
}

func provisioned(p *types.ProvisionedThroughput) *throughput {
	if p == nil {
		return nil
	}
	return &throughput{aws.ToInt64(p.ReadCapacityUnits), aws.ToInt64(p.WriteCapacityUnits)}
}

// unsupported names the CreateTableInput settings lawcket table does not render.
func unsupported(in *dynamodb.CreateTableInput) error {
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
		return fmt.Errorf("the table definition sets %s, which lawcket table cannot render", strings.Join(names, ", "))
	}
	return nil
}
