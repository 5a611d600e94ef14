package stack_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/internal/stack"
)

// auditFeature is a feature as channels or fan-out add one: its own table
// (with an index), its name in the app's environment, and grants on it.
type auditFeature struct{}

func (auditFeature) Apply(s *stack.Stack) error {
	t := &stack.Table{
		ID: "AuditTable", EnvVar: "AUDIT_TABLE", TTL: "expiresAt",
		Def: &dynamodb.CreateTableInput{
			TableName:            aws.String("audit"),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}, {AttributeName: aws.String("who"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
				IndexName: aws.String("who-index"), KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("who"), KeyType: types.KeyTypeHash}},
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
			}},
		},
	}
	s.Tables = append(s.Tables, t)
	app := s.Function(stack.AppFunction)
	app.Env = append(app.Env, stack.EnvVar{Name: t.EnvVar, Table: t})
	s.Grant(stack.Grant{Table: t, Ops: []stack.Op{stack.PutItem}, IndexOps: []stack.Op{stack.Query}, Indexes: []string{"who-index"}}, app)
	s.Grant(stack.Grant{Ops: []stack.Op{stack.GetConnection}}, app)
	return nil
}

// TestFeature checks the extension point: one Feature's table, environment
// and grants reach every format, and the result still lints.
func TestFeature(t *testing.T) {
	s, err := stack.New(load(t, specs["api"]), stack.Options{Features: []stack.Feature{auditFeature{}}})
	if err != nil {
		t.Fatal(err)
	}
	app := s.Function(stack.AppFunction)
	audit := s.Tables[1]
	if !app.Allowed(audit, stack.PutItem, "") || !app.Allowed(audit, stack.Query, "who-index") || app.Allowed(audit, stack.Query, "") ||
		app.Allowed(audit, stack.GetItem, "") || !app.Allowed(nil, stack.GetConnection, "") || app.Allowed(nil, stack.DeleteConnection, "") {
		t.Errorf("grants %+v", app.Grants)
	}
	sam, err := s.Render("sam")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := s.Render("terraform")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AuditTable:", "AUDIT_TABLE:", "${AuditTable.Arn}/index/who-index", "/prod/GET/@connections/*", "ProjectionType: KEYS_ONLY"} {
		if !strings.Contains(string(sam), want) {
			t.Errorf("SAM lacks %q", want)
		}
	}
	for _, want := range []string{`resource "aws_dynamodb_table" "audit_table"`, `"${aws_dynamodb_table.audit_table.arn}/index/who-index"`, "/prod/GET/@connections/*"} {
		if !strings.Contains(string(tf), want) {
			t.Errorf("Terraform lacks %q\n%s", want, tf)
		}
	}
	// hclwrite aligns a block's "=": the spacing depends on the other names.
	if !regexp.MustCompile(`AUDIT_TABLE +=\s*aws_dynamodb_table\.audit_table\.name`).Match(tf) {
		t.Errorf("Terraform lacks AUDIT_TABLE = aws_dynamodb_table.audit_table.name\n%s", tf)
	}
	checkTerraform(t, rendering{name: "feature", format: "terraform", out: tf, stack: s})
}
