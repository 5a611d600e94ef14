package stack_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/lawcket/lawcket/internal/stack"
	"github.com/lawcket/lawcket/internal/testsupport"
	"github.com/lawcket/lawcket/syncspec"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// specs are the lawcket.yaml files the golden files render.
var specs = map[string]string{
	"chat": "../../examples/chat/lawcket.yaml",
	"api":  "../../testdata/spec/good/api.yaml",
	"arn":  "testdata/arn.yaml",
	// sharded: write-sharded index fields (room shards: 8, a number level
	// shards: 4) next to an unsharded one.
	"sharded": "../../testdata/spec/good/sharded.yaml",
}

func load(t *testing.T, path string) *syncspec.Spec {
	t.Helper()
	spec, err := syncspec.Load(path, syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

type rendering struct {
	name, format string
	out          []byte
	stack        *stack.Stack
}

// renderAll renders every spec in every shape and format.
func renderAll(t *testing.T) []rendering {
	var out []rendering
	for name, path := range specs {
		spec := load(t, path)
		for _, shape := range stack.Shapes {
			for _, format := range stack.Formats {
				s, err := stack.New(spec, stack.Options{Shape: shape})
				if err != nil {
					t.Fatal(err)
				}
				b, err := s.Render(format)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, rendering{name + "-" + string(shape), format, b, s})
			}
		}
	}
	spec := load(t, specs["chat"])
	for _, format := range stack.Formats {
		s, err := stack.New(spec, stack.Options{Shape: stack.Sync, Fanout: true})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Render(format)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rendering{"chat-sync-fanout", format, b, s})
		s, err = stack.New(spec, stack.Options{Shape: stack.Sync, Sweep: "rate(15 minutes)"})
		if err != nil {
			t.Fatal(err)
		}
		if b, err = s.Render(format); err != nil {
			t.Fatal(err)
		}
		out = append(out, rendering{"chat-sync-sweep", format, b, s})
	}
	slices.SortFunc(out, func(a, b rendering) int { return strings.Compare(a.name+a.format, b.name+b.format) })
	return out
}

func ext(format string) string {
	if format == "terraform" {
		return ".tf"
	}
	return "." + format + ".yaml"
}

// TestGolden compares every rendering with testdata/golden (-update
// rewrites them).
func TestGolden(t *testing.T) {
	for _, r := range renderAll(t) {
		file := filepath.Join("testdata", "golden", r.name+ext(r.format))
		if *update {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, r.out, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (go test ./internal/stack -run TestGolden -update)", err)
		}
		if !bytes.Equal(r.out, want) {
			t.Errorf("%s differs from the rendering:\n%s", file, r.out)
		}
	}
}

// TestCFNLint lints every SAM and CloudFormation rendering with cfn-lint,
// which applies the SAM transform through aws-sam-translator: no errors or
// warnings.
func TestCFNLint(t *testing.T) {
	cmd := testsupport.CfnLint(t)
	dir := t.TempDir()
	args := append(cmd[1:], "--regions", "eu-west-1", "--")
	for _, r := range renderAll(t) {
		if r.format == "terraform" {
			continue
		}
		file := filepath.Join(dir, r.name+ext(r.format))
		if err := os.WriteFile(file, r.out, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	out, err := exec.Command(cmd[0], args...).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint: %v\n%s", err, out)
	}
}

// TestTerraform checks each Terraform rendering: terraform fmt -check when
// terraform is installed, else that hclwrite.Format leaves it unchanged;
// then its structure, parsed back with hclparse.
func TestTerraform(t *testing.T) {
	tf, _ := exec.LookPath("terraform")
	for _, r := range renderAll(t) {
		if r.format != "terraform" {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			if tf != "" {
				cmd := exec.Command(tf, "fmt", "-check", "-diff", "-")
				cmd.Stdin = bytes.NewReader(r.out)
				cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+os.DevNull)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("terraform fmt -check: %v\n%s", err, msg)
				}
			} else if f := hclwrite.Format(r.out); !bytes.Equal(f, r.out) {
				t.Errorf("not a hclwrite.Format fixpoint")
			}
			checkTerraform(t, r)
		})
	}
}

func checkTerraform(t *testing.T, r rendering) {
	t.Helper()
	file, diags := hclparse.NewParser().ParseHCL(r.out, r.name+".tf")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	body := file.Body.(*hclsyntax.Body)
	blocks := map[string]*hclsyntax.Block{}
	count := map[string]int{}
	for _, b := range body.Blocks {
		key := b.Type + "." + strings.Join(b.Labels, ".")
		if _, dup := blocks[key]; dup {
			t.Errorf("%s is declared twice", key)
		}
		blocks[key] = b
		if len(b.Labels) > 0 {
			count[b.Type+"."+b.Labels[0]]++
		}
	}
	s := r.stack
	str := func(b *hclsyntax.Block, attr string) string {
		a, ok := b.Body.Attributes[attr]
		if !ok {
			return ""
		}
		v, d := a.Expr.Value(nil)
		if d.HasErrors() {
			return "<expr>"
		}
		return v.AsString()
	}
	if n := count["resource.aws_lambda_function"]; n != len(s.Functions) {
		t.Errorf("%d aws_lambda_function, want %d", n, len(s.Functions))
	}
	var keys []string
	for _, b := range body.Blocks {
		if b.Type == "resource" && b.Labels[0] == "aws_apigatewayv2_route" {
			keys = append(keys, str(b, "route_key"))
			if target := b.Body.Attributes["target"]; target == nil || len(target.Expr.Variables()) != 1 {
				t.Errorf("route %s: target is not one integration's id", str(b, "route_key"))
			}
		}
	}
	var want []string
	for _, r := range s.Routes {
		want = append(want, r.Key)
	}
	if !slices.Equal(keys, want) {
		t.Errorf("routes %q, want %q", keys, want)
	}
	api := blocks["resource.aws_apigatewayv2_api.websocket_api"]
	if api == nil || str(api, "protocol_type") != "WEBSOCKET" || str(api, "route_selection_expression") != s.Selection {
		t.Errorf("aws_apigatewayv2_api: %v", api)
	}
	table := blocks["resource.aws_dynamodb_table.connections_table"]
	if table == nil || str(table, "hash_key") != "connectionId" || str(table, "billing_mode") != "PAY_PER_REQUEST" {
		t.Fatalf("aws_dynamodb_table: %v", table)
	}
	var gsis, ttl int
	for _, b := range table.Body.Blocks {
		switch b.Type {
		case "global_secondary_index":
			gsis++
		case "ttl":
			ttl++
		}
	}
	if gsis != len(s.Spec.IndexFields()) || (ttl == 1) != (s.Spec.TTL > 0) {
		t.Errorf("table: %d GSIs, %d ttl", gsis, ttl)
	}
	stage := blocks["resource.aws_apigatewayv2_stage.stage"]
	if stage == nil || str(stage, "name") != s.Stage {
		t.Fatalf("stage: %v", stage)
	}
	hasThrottle := false
	for _, b := range stage.Body.Blocks {
		if b.Type == "default_route_settings" {
			hasThrottle = b.Body.Attributes["throttling_rate_limit"] != nil && b.Body.Attributes["throttling_burst_limit"] != nil
		}
	}
	if hasThrottle != (s.Throttling != nil) {
		t.Errorf("stage throttling %v, want %v", hasThrottle, s.Throttling != nil)
	}
	if (blocks["resource.aws_apigatewayv2_authorizer.connect_authorizer"] != nil) != (s.Authorizer != nil) {
		t.Errorf("authorizer present != %v", s.Authorizer != nil)
	}
	for _, out := range []string{"output.websocket_url", "output.management_endpoint"} {
		if blocks[out] == nil {
			t.Errorf("no %s", out)
		}
	}
	// No account-wide grant: every ManageConnections resource is this API's stage.
	for _, b := range body.Blocks {
		if b.Type != "data" || b.Labels[0] != "aws_iam_policy_document" {
			continue
		}
		for _, st := range b.Body.Blocks {
			res := st.Body.Attributes["resources"]
			if res == nil {
				continue
			}
			src := string(res.Expr.Range().SliceBytes(r.out))
			if strings.Contains(src, "@connections") && !strings.Contains(src, "aws_apigatewayv2_api.websocket_api.execution_arn}/"+s.Stage+"/") {
				t.Errorf("%s: ManageConnections on %s", b.Labels[1], src)
			}
			if strings.Contains(src, `"*"`) {
				t.Errorf("%s: a wildcard resource", b.Labels[1])
			}
		}
	}
}
