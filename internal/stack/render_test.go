package stack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/lawcket/lawcket/internal/stack"
	"github.com/lawcket/lawcket/internal/testsupport"
	"github.com/lawcket/lawcket/syncspec"
)

// TestRenderTableSettings renders a table with what no spec produces but a
// CreateTableInput can say — provisioned throughput, a range key, an
// INCLUDE projection — and lints it, so that no setting of the one table
// definition is dropped by a renderer.
func TestRenderTableSettings(t *testing.T) {
	s, err := stack.NewTableOnly(load(t, specs["chat"]), "Conns", []string{"scan", "get-connection", "delete-connection"})
	if err != nil {
		t.Fatal(err)
	}
	in := s.Tables[0].Def
	in.BillingMode = types.BillingModeProvisioned
	in.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(2)}
	in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("at"), AttributeType: types.ScalarAttributeTypeN})
	in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String("at"), KeyType: types.KeyTypeRange})
	g := &in.GlobalSecondaryIndexes[0]
	g.KeySchema = append(g.KeySchema, types.KeySchemaElement{AttributeName: aws.String("at"), KeyType: types.KeyTypeRange})
	g.Projection = &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"user"}}
	g.ProvisionedThroughput = &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(3), WriteCapacityUnits: aws.Int64(1)}

	cfn, err := s.Render("cloudformation")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := s.Render("terraform")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BillingMode: PROVISIONED", "ReadCapacityUnits: 5", "KeyType: RANGE", "ProjectionType: INCLUDE", "- user", "ReadCapacityUnits: 3",
		"dynamodb:Scan", "/GET/@connections/*", "/DELETE/@connections/*"} {
		if !strings.Contains(string(cfn), want) {
			t.Errorf("CloudFormation lacks %q:\n%s", want, cfn)
		}
	}
	for _, want := range []string{`billing_mode   = "PROVISIONED"`, "read_capacity  = 5", `range_key      = "at"`, `projection_type    = "INCLUDE"`, `non_key_attributes = ["user"]`,
		`"${var.api_execution_arn}/${var.stage}/DELETE/@connections/*"`} {
		if !strings.Contains(string(tf), want) {
			t.Errorf("Terraform lacks %q:\n%s", want, tf)
		}
	}
	cmd := testsupport.CfnLint(t)
	file := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(file, cfn, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cmd[0], append(cmd[1:], "--regions", "eu-west-1", "--", file)...).CombinedOutput(); err != nil {
		t.Errorf("cfn-lint: %v\n%s\n%s", err, out, cfn)
	}
}

// TestRouteKeysAreData renders route keys that look like interpolations and
// quotes: Terraform must read each back as the same literal string.
func TestRouteKeysAreData(t *testing.T) {
	spec := load(t, specs["arn"])
	spec.API = &syncspec.API{}
	keys := []string{"${var.secret}", `say"hi\`, "%{ if x }", "chat.say"}
	for _, k := range keys {
		spec.API.Routes = append(spec.API.Routes, syncspec.Route{Key: k})
	}
	s, err := stack.New(spec, stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tf, err := s.Render("terraform")
	if err != nil {
		t.Fatal(err)
	}
	file, diags := hclparse.NewParser().ParseHCL(tf, "t.tf")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []string
	for _, b := range file.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "resource" && b.Labels[0] == "aws_apigatewayv2_route" {
			v, d := b.Body.Attributes["route_key"].Expr.Value(nil)
			if d.HasErrors() {
				t.Fatalf("route_key is not a literal: %v", d)
			}
			got = append(got, v.AsString())
		}
	}
	want := append([]string{"$connect", "$disconnect", "$default"}, keys...)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("route keys %q, want %q", got, want)
	}
	if _, err := s.Render("sam"); err != nil {
		t.Fatal(err)
	}
}

// TestTerraformNamePrefix checks that var.name's default is a valid prefix
// of Lambda function names whatever the table is called (a table name may
// hold dots and be 255 long; a function name may not).
func TestTerraformNamePrefix(t *testing.T) {
	spec := load(t, specs["chat"])
	spec.Table = "prod.chat-" + strings.Repeat("x", 60)
	s, err := stack.New(spec, stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tf, err := s.Render("terraform")
	if err != nil {
		t.Fatal(err)
	}
	file, diags := hclparse.NewParser().ParseHCL(tf, "t.tf")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, b := range file.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "variable" && b.Labels[0] == "name" {
			v, _ := b.Body.Attributes["default"].Expr.Value(nil)
			name := v.AsString() + "-app"
			if len(name) > 64 || strings.ContainsAny(name, ".") {
				t.Errorf("function name %q: not a Lambda function name", name)
			}
			return
		}
	}
	t.Fatal("no variable name")
}
