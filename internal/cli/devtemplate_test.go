package cli

import (
	"bufio"
	"context"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// rawTemplate is a CloudFormation (not SAM) WebSocket API: an
// AWS::ApiGatewayV2::Api with its routes, integration and stage, and an
// AWS::Lambda::Function whose code is not local (run with --function).
const rawTemplate = `{
  "Resources": {
    "Ws": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "ws", "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "handler", "MemorySize": 256, "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": "arn:aws:iam::123456789012:role/r", "Code": {"S3Bucket": "my-artifacts", "S3Key": "fn.zip"}}},
    "Int": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {"ApiId": {"Ref": "Ws"}, "IntegrationType": "AWS_PROXY", "IntegrationUri": {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"}}},
    "Connect": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": {"Ref": "Ws"}, "RouteKey": "$connect", "Target": {"Fn::Join": ["/", ["integrations", {"Ref": "Int"}]]}}},
    "Default": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": {"Ref": "Ws"}, "RouteKey": "$default", "Target": {"Fn::Join": ["/", ["integrations", {"Ref": "Int"}]]}}},
    "Env": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": {"Ref": "Ws"}, "RouteKey": "env", "Target": {"Fn::Join": ["/", ["integrations", {"Ref": "Int"}]]}}},
    "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": {"Ref": "Ws"}, "StageName": "prod"}}
  }
}`

func TestDevTemplateUsage(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.json")
	writeFile(t, tpl, rawTemplate)
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "Resources:\n  Api:\n    Type: AWS::Serverless::WebSocketApi\n    Properties:\n      Routes: {}\n      Bogus: 1\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"function without template", []string{"dev", "--function", "Fn=true", "--", "true"}, ExitUsage, "--function, --env-file and --parameter go with --template"},
		{"bad function flag", []string{"dev", "--template", tpl, "--function", "Fn"}, ExitUsage, "want LogicalId=COMMAND"},
		{"routes from the template", []string{"dev", "--template", tpl, "--routes", "a", "--function", "Fn=true"}, ExitFindings, "--routes comes from the template"},
		{"command after --", []string{"dev", "--template", tpl, "--", "true"}, ExitFindings, "give a command with --function LogicalId=COMMAND"},
		{"unknown function", []string{"dev", "--template", tpl, "--function", "Nope=true"}, ExitFindings, "the template has no function Nope (it has Fn)"},
		{"not a Go function", []string{"dev", "--template", tpl}, ExitFindings, "give its command with --function Fn=COMMAND"},
		{"bad template", []string{"dev", "--template", bad}, ExitFindings, "bad.yaml:6:7: Resources.Api.Properties.Bogus: unknown property \"Bogus\""},
		{"missing template", []string{"dev", "--template", filepath.Join(dir, "nope.yaml")}, ExitFindings, "nope.yaml: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, "", tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to contain %q", code, tt.code, stderr, tt.stderr)
			}
		})
	}
}

func TestReadEnvFile(t *testing.T) {
	dir := t.TempDir()
	dotenv := filepath.Join(dir, ".env")
	writeFile(t, dotenv, "# comment\n\nA=1\nexport B = two words\nC=\"quoted \\\"x\\\"\"\nD='single'\nE=\n")
	g, per, err := readEnvFile(dotenv)
	if err != nil || per != nil {
		t.Fatal(err, per)
	}
	if want := map[string]string{"A": "1", "B": "two words", "C": `quoted "x"`, "D": "single", "E": ""}; !maps.Equal(g, want) {
		t.Errorf("dotenv = %v, want %v", g, want)
	}
	sam := filepath.Join(dir, "env.json")
	writeFile(t, sam, `{"Parameters": {"A": "all"}, "Fn": {"B": 2, "C": true}}`)
	g, per, err = readEnvFile(sam)
	if err != nil || !maps.Equal(g, map[string]string{"A": "all"}) || !maps.Equal(per["Fn"], map[string]string{"B": "2", "C": "true"}) {
		t.Errorf("SAM env-vars: %v %v %v", g, per, err)
	}
	for _, bad := range []string{"NOEQUALS\n", "A B=1\n", `{"Fn": {"X": [1]}}`, `{"Fn": 1}`} {
		writeFile(t, dotenv, bad)
		if _, _, err := readEnvFile(dotenv); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if got := functionEnv(map[string]string{"A": "t", "B": "t"}, map[string]string{"B": "file"}, map[string]string{"C": "fn"}); strings.Join(got, " ") != "A=t B=file C=fn" {
		t.Errorf("functionEnv = %v", got)
	}
}

// TestDevTemplateRuns runs `lawcket dev --template` on a raw CloudFormation
// WebSocket API with its function given by --function and an --env-file,
// with a WebSocket client in between.
func TestDevTemplateRuns(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "echo")
	build := exec.Command("go", "build", "-o", bin, "../devgw/testdata/echo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build echo: %v\n%s", err, out)
	}
	dir := t.TempDir()
	tpl, envFile := filepath.Join(dir, "template.json"), filepath.Join(dir, "dev.env")
	writeFile(t, tpl, rawTemplate)
	writeFile(t, envFile, "ECHO_LOG_MESSAGES=1\n")
	writeFile(t, filepath.Join(dir, "index.html"), "<p>hi</p>")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr testsupport.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--static", dir, "--template", tpl, "--function", "Fn=" + bin, "--env-file", envFile},
			strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	banner := map[string]string{}
	var bannerText strings.Builder
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		bannerText.WriteString(lines.Text() + "\n")
		if k, v, ok := strings.Cut(strings.TrimSpace(lines.Text()), ":"); ok {
			banner[k] = strings.Fields(v + " ")[0]
		}
		if strings.HasPrefix(strings.TrimSpace(lines.Text()), "Static page:") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	url := banner["WebSocket URL"]
	if !strings.HasSuffix(url, "/prod") || !strings.Contains(bannerText.String(), "Route:           env          → Fn") {
		t.Fatalf("banner:\n%s\nstderr:\n%s", bannerText.String(), stderr.String())
	}
	dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	for _, tt := range []struct{ send, want string }{
		{`{"action":"env"}`, `"AWS_LAMBDA_FUNCTION_NAME":"handler"`},    // the template's FunctionName
		{`{"action":"env"}`, `"AWS_LAMBDA_FUNCTION_MEMORY_SIZE":"256"`}, // its MemorySize
		{`{"action":"nosuch"}`, `"routeKey":"$default"`},                // declared routes: others go to $default
	} {
		if err := c.Write(dctx, websocket.MessageText, []byte(tt.send)); err != nil {
			t.Fatal(err)
		}
		if _, data, err := c.Read(dctx); err != nil || !strings.Contains(string(data), tt.want) {
			t.Errorf("%s: got %.300s, %v; want %s", tt.send, data, err, tt.want)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d\nstderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lawcket dev did not stop after its context ended")
	}
	if !strings.Contains(stderr.String(), "nosuch") { // ECHO_LOG_MESSAGES from --env-file
		t.Errorf("the function did not log its messages (ECHO_LOG_MESSAGES from --env-file):\n%s", stderr.String())
	}
}
