package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/stack"
	"github.com/lawcket/lawcket/internal/testsupport"
	"go.yaml.in/yaml/v3"
)

func TestTableGolden(t *testing.T) {
	readme := specDir + "lawcket.yaml"
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"table-cloudformation", []string{"table", "-c", readme}, ExitOK},
		{"table-sam", []string{"table", "-c", readme, "--format", "sam"}, ExitOK},
		{"table-serverless", []string{"table", "-c", readme, "--format", "serverless"}, ExitOK},
		{"table-terraform", []string{"table", "-c", readme, "--format", "terraform"}, ExitOK},
		{"table-cloudformation-indexes", []string{"table", "-c", specDir + "indexes.yaml", "--name", "GameTable"}, ExitOK},
		{"table-terraform-indexes", []string{"table", "-c", specDir + "indexes.yaml", "--format", "terraform", "--name", "GameTable"}, ExitOK},
		{"table-cloudformation-minimal", []string{"table", "-c", specDir + "minimal.yaml"}, ExitOK},
		{"table-terraform-minimal", []string{"table", "-c", specDir + "minimal.yaml", "--format", "terraform"}, ExitOK},
		{"table-cloudformation-channels", []string{"table", "-c", specDir + "channels.yaml"}, ExitOK},
		{"table-terraform-channels", []string{"table", "-c", specDir + "channels.yaml", "--format", "terraform"}, ExitOK},
		{"table-bad-spec", []string{"table", "-c", specDir + "bad.yaml"}, ExitFindings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tt.want, stderr)
			}
			golden(t, tt.name, code, stdout, stderr)
		})
	}
}

// cfnTable is the part of an AWS::DynamoDB::Table resource the tests check.
type cfnTable struct {
	Type       string `yaml:"Type"`
	Properties struct {
		TableName            string `yaml:"TableName"`
		BillingMode          string `yaml:"BillingMode"`
		AttributeDefinitions []struct {
			AttributeName string `yaml:"AttributeName"`
			AttributeType string `yaml:"AttributeType"`
		} `yaml:"AttributeDefinitions"`
		KeySchema              []cfnKey `yaml:"KeySchema"`
		GlobalSecondaryIndexes []struct {
			IndexName  string   `yaml:"IndexName"`
			KeySchema  []cfnKey `yaml:"KeySchema"`
			Projection struct {
				ProjectionType string `yaml:"ProjectionType"`
			} `yaml:"Projection"`
		} `yaml:"GlobalSecondaryIndexes"`
		TimeToLiveSpecification *struct {
			AttributeName string `yaml:"AttributeName"`
			Enabled       bool   `yaml:"Enabled"`
		} `yaml:"TimeToLiveSpecification"`
	} `yaml:"Properties"`
}

type cfnKey struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// TestTableCloudFormationParsed parses the CloudFormation output back as YAML
// and checks the key schema, the indexes, the TTL and the policy.
func TestTableCloudFormationParsed(t *testing.T) {
	type index struct{ name, attr, attrType string }
	tests := []struct {
		spec    string
		name    string
		table   string
		ttl     bool
		indexes []index
	}{
		{"lawcket.yaml", "ConnectionsTable", "Connections", true, []index{{"room-index", "room", "S"}}},
		{"indexes.yaml", "GameTable", "GameConnections", true, []index{{"game-index", "game", "S"}, {"level-index", "level", "N"}}},
		{"minimal.yaml", "Sessions", "Sessions", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			code, stdout, stderr := run(t, "", "table", "-c", specDir+tt.spec, "--name", tt.name)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("not YAML: %v\n%s", err, stdout)
			}
			var tmpl struct {
				Version   string               `yaml:"AWSTemplateFormatVersion"`
				Resources map[string]yaml.Node `yaml:"Resources"`
			}
			if err := doc.Decode(&tmpl); err != nil {
				t.Fatal(err)
			}
			if tmpl.Version != "2010-09-09" {
				t.Errorf("AWSTemplateFormatVersion = %q", tmpl.Version)
			}
			res, ok := tmpl.Resources[tt.name]
			if !ok {
				t.Fatalf("no resource %s in\n%s", tt.name, stdout)
			}
			var table cfnTable
			if err := res.Decode(&table); err != nil {
				t.Fatal(err)
			}
			p := table.Properties
			if table.Type != "AWS::DynamoDB::Table" || p.TableName != tt.table || p.BillingMode != "PAY_PER_REQUEST" {
				t.Errorf("Type %q, TableName %q, BillingMode %q", table.Type, p.TableName, p.BillingMode)
			}
			if len(p.KeySchema) != 1 || p.KeySchema[0] != (cfnKey{"connectionId", "HASH"}) {
				t.Errorf("KeySchema = %+v, want connectionId HASH", p.KeySchema)
			}
			types := map[string]string{}
			for _, a := range p.AttributeDefinitions {
				types[a.AttributeName] = a.AttributeType
			}
			if types["connectionId"] != "S" || len(types) != 1+len(tt.indexes) {
				t.Errorf("AttributeDefinitions = %+v", p.AttributeDefinitions)
			}
			if len(p.GlobalSecondaryIndexes) != len(tt.indexes) {
				t.Fatalf("GlobalSecondaryIndexes = %+v, want %v", p.GlobalSecondaryIndexes, tt.indexes)
			}
			for i, want := range tt.indexes {
				g := p.GlobalSecondaryIndexes[i]
				if g.IndexName != want.name || len(g.KeySchema) != 1 || g.KeySchema[0] != (cfnKey{want.attr, "HASH"}) ||
					g.Projection.ProjectionType != "ALL" || types[want.attr] != want.attrType {
					t.Errorf("index %d = %+v (attribute type %q), want %+v", i, g, types[want.attr], want)
				}
			}
			if tt.ttl != (p.TimeToLiveSpecification != nil) {
				t.Fatalf("TimeToLiveSpecification = %+v, want ttl %v", p.TimeToLiveSpecification, tt.ttl)
			}
			if tt.ttl && (p.TimeToLiveSpecification.AttributeName != "expiresAt" || !p.TimeToLiveSpecification.Enabled) {
				t.Errorf("TimeToLiveSpecification = %+v", *p.TimeToLiveSpecification)
			}
			var ixNames []string
			for _, ix := range tt.indexes {
				ixNames = append(ixNames, ix.name)
			}
			checkPolicy(t, tmpl.Resources[tt.name+"Policy"], tt.name, ixNames)
		})
	}
}

// checkPolicy checks the managed policy's statements, including the tags of
// the intrinsic functions that name the table.
func checkPolicy(t *testing.T, res yaml.Node, table string, indexes []string) {
	t.Helper()
	var policy struct {
		Type       string `yaml:"Type"`
		Properties struct {
			PolicyDocument struct {
				Statement []struct {
					Effect   string      `yaml:"Effect"`
					Action   []string    `yaml:"Action"`
					Resource []yaml.Node `yaml:"Resource"`
				} `yaml:"Statement"`
			} `yaml:"PolicyDocument"`
		} `yaml:"Properties"`
	}
	if err := res.Decode(&policy); err != nil {
		t.Fatal(err)
	}
	if policy.Type != "AWS::IAM::ManagedPolicy" {
		t.Fatalf("policy Type = %q", policy.Type)
	}
	var actions []string
	var resources []string
	for _, st := range policy.Properties.PolicyDocument.Statement {
		if st.Effect != "Allow" {
			t.Errorf("Effect = %q", st.Effect)
		}
		actions = append(actions, st.Action...)
		for _, r := range st.Resource {
			out, err := yaml.Marshal(&r)
			if err != nil {
				t.Fatal(err)
			}
			resources = append(resources, strings.Join(strings.Fields(string(out)), " "))
		}
	}
	want := []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "execute-api:ManageConnections"}
	if len(indexes) == 0 {
		want = slices.Delete(want, 3, 4)
	}
	if !slices.Equal(actions, want) {
		t.Errorf("actions %v, want %v (Scan only with --allow scan)", actions, want)
	}
	want = []string{"Fn::GetAtt: - " + table + " - Arn"}
	for _, ix := range indexes {
		want = append(want, "Fn::Sub: ${"+table+".Arn}/index/"+ix)
	}
	want = append(want, "Fn::Sub: arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ApiId}/${StageName}/POST/@connections/*")
	if !slices.Equal(resources, want) {
		t.Errorf("resources %q, want %q", resources, want)
	}
}

// TestTableLint runs the real tools over the output when they are installed:
// cfn-lint over the CloudFormation and SAM templates and over the
// serverless.yml sections (put back into a template, with the framework's
// WebsocketsApi), terraform fmt over the HCL (fmt parses it and fails on a
// syntax error; validate would need the provider downloaded).
func TestTableLint(t *testing.T) {
	templates := map[string]string{} // file name → template
	var hcl []string
	for _, spec := range []string{"lawcket.yaml", "indexes.yaml", "minimal.yaml", "channels.yaml"} {
		for _, format := range []string{"cloudformation", "sam", "serverless", "terraform"} {
			code, stdout, stderr := run(t, "", "table", "-c", specDir+spec, "--format", format)
			if code != ExitOK {
				t.Fatalf("%s %s: exit %d: %s", spec, format, code, stderr)
			}
			switch format {
			case "terraform":
				hcl = append(hcl, stdout)
			case "serverless":
				templates[spec+"."+format+".yaml"] = serverlessAsTemplate(t, stdout)
			default:
				templates[spec+"."+format+".yaml"] = stdout
			}
		}
	}

	t.Run("cfn-lint", func(t *testing.T) {
		lint := testsupport.CfnLint(t)
		dir := t.TempDir()
		args := append(lint[1:], "--regions", "eu-west-1", "--")
		for name, tmpl := range templates {
			writeFile(t, filepath.Join(dir, name), tmpl)
			args = append(args, filepath.Join(dir, name))
		}
		if msg, err := exec.Command(lint[0], args...).CombinedOutput(); err != nil {
			t.Errorf("cfn-lint: %v\n%s", err, msg)
		}
	})
	t.Run("terraform fmt", func(t *testing.T) {
		tf, err := exec.LookPath("terraform")
		if err != nil {
			testsupport.Missing(t, "terraform is not installed")
		}
		for _, out := range hcl {
			cmd := exec.Command(tf, "fmt", "-check", "-diff", "-")
			cmd.Stdin = strings.NewReader(out)
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("terraform fmt -check: %v\n%s\n%s", err, msg, out)
			}
		}
	})
}

// serverlessAsTemplate turns the serverless.yml sections into the template
// the Serverless Framework would deploy: resources.Resources and Outputs, the
// role statements in a managed policy, and the framework's WebsocketsApi.
func serverlessAsTemplate(t *testing.T, out string) string {
	t.Helper()
	var sls struct {
		Provider struct {
			IAM struct {
				Role struct {
					Statements []any `yaml:"statements"`
				} `yaml:"role"`
			} `yaml:"iam"`
		} `yaml:"provider"`
		Resources struct {
			Resources map[string]any `yaml:"Resources"`
			Outputs   map[string]any `yaml:"Outputs"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal([]byte(out), &sls); err != nil {
		t.Fatalf("serverless output is not YAML: %v\n%s", err, out)
	}
	if len(sls.Provider.IAM.Role.Statements) == 0 || len(sls.Resources.Resources) == 0 {
		t.Fatalf("serverless output lacks provider.iam.role.statements or resources.Resources:\n%s", out)
	}
	res := sls.Resources.Resources
	res["ServerlessRolePolicy"] = map[string]any{
		"Type":       "AWS::IAM::ManagedPolicy",
		"Properties": map[string]any{"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": sls.Provider.IAM.Role.Statements}},
	}
	res["WebsocketsApi"] = map[string]any{
		"Type":       "AWS::ApiGatewayV2::Api",
		"Properties": map[string]any{"Name": "sls", "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
	}
	tmpl, err := yaml.Marshal(map[string]any{"AWSTemplateFormatVersion": "2010-09-09", "Resources": res, "Outputs": sls.Resources.Outputs})
	if err != nil {
		t.Fatal(err)
	}
	return string(tmpl)
}

// TestTableEnvOverride checks that LAWCKET_TABLE renames the table in every
// format (the override itself is syncspec's).
func TestTableEnvOverride(t *testing.T) {
	t.Setenv("LAWCKET_TABLE", "staging-connections")
	for format, want := range map[string]string{
		"cloudformation": "TableName: staging-connections\n",
		"serverless":     "TableName: staging-connections\n",
		"terraform":      `name         = "staging-connections"` + "\n",
	} {
		code, stdout, stderr := run(t, "", "table", "-c", specDir+"lawcket.yaml", "--format", format)
		if code != ExitOK || !strings.Contains(stdout, want) {
			t.Errorf("%s: exit %d, want %q in\n%s%s", format, code, want, stdout, stderr)
		}
	}
}

// TestTableUnsupported checks that a CreateTableInput setting the renderers
// do not know is an error, not silently dropped.
func TestTableUnsupported(t *testing.T) {
	in := dynamo.TableDefinition(nil, "t")
	if err := stack.Unsupported(in); err != nil {
		t.Fatalf("the plain definition: %v", err)
	}
	in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly}
	in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("chat")}}
	err := stack.Unsupported(in)
	if err == nil || !strings.Contains(err.Error(), "StreamSpecification, Tags, which lawcket cannot render") {
		t.Errorf("err = %v", err)
	}
}
