package samtemplate

import (
	"errors"
	"maps"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lawcket/lawcket/internal/testsupport"
)

func TestSAMTemplate(t *testing.T) {
	tpl, err := Load("testdata/sam.yaml", Options{Endpoint: "127.0.0.1:8080", APIID: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	a := tpl.API
	if a.LogicalID != "Api" || a.RouteSelectionExpression != "$request.body.action" || a.Stage != "dev" {
		t.Errorf("API = %+v", a)
	}
	want := map[string]string{"$connect": "Main", "$disconnect": "Main", "$default": "Main", "send": "Send"}
	got := map[string]string{}
	for k, r := range a.Routes {
		got[k] = r.Function
	}
	if !maps.Equal(got, want) {
		t.Errorf("routes = %v, want %v", got, want)
	}
	if !a.Routes["send"].TwoWay || a.Routes["$default"].TwoWay {
		t.Errorf("two-way: send %v, $default %v; want only send (it has a $default RouteResponse)", a.Routes["send"].TwoWay, a.Routes["$default"].TwoWay)
	}
	if a.Routes["send"].Pos != (Pos{28, 9}) {
		t.Errorf("send route at %v, want 28:9", a.Routes["send"].Pos)
	}
	if got := a.CustomRoutes(); !reflect.DeepEqual(got, []string{"send"}) {
		t.Errorf("CustomRoutes = %v", got)
	}
	if au := a.Authorizer; au == nil || au.Function != "Auth" || au.Name != "ApiConnectAuthorizer" ||
		!reflect.DeepEqual(au.IdentitySource, []string{"route.request.querystring.token"}) {
		t.Errorf("authorizer = %+v", a.Authorizer)
	}
	if got := tpl.UsedFunctions(); !reflect.DeepEqual(got, []string{"Auth", "Main", "Send"}) {
		t.Errorf("UsedFunctions = %v", got)
	}

	main := tpl.Functions["Main"]
	wantEnv := map[string]string{
		"LAWCKET_TABLE": "lawcket-dev-connections",   // from Globals, !Ref to the table
		"ENDPOINT":      "http://127.0.0.1:8080/dev", // the execute-api URL, made local
		"TABLE_ARN":     "arn:aws:dynamodb:us-east-1:000000000000:table/lawcket-dev-connections",
		"MAX":           "5",
	}
	if !maps.Equal(main.Environment, wantEnv) {
		t.Errorf("Main env = %v, want %v", main.Environment, wantEnv)
	}
	abs, _ := filepath.Abs("testdata/app/main")
	if main.CodeURI != abs || !main.IsGo() || main.Runtime != "provided.al2023" || main.Handler != "bootstrap" || main.Timeout != 10 {
		t.Errorf("Main = %+v", main)
	}
	if s := tpl.Functions["Send"]; s.Name != "lawcket-dev-send" || s.Timeout != 20 {
		t.Errorf("Send = %+v", s)
	}

	if len(tpl.Tables) != 2 {
		t.Fatalf("tables = %d, want 2", len(tpl.Tables))
	}
	c := tpl.Tables[0]
	if c.Name != "lawcket-dev-connections" || c.TTLAttribute != "expiresAt" || len(c.Definition.GlobalSecondaryIndexes) != 1 ||
		aws.ToString(c.Definition.GlobalSecondaryIndexes[0].IndexName) != "room-index" ||
		aws.ToString(c.Definition.KeySchema[0].AttributeName) != "connectionId" {
		t.Errorf("Connections = %+v", c)
	}
	s := tpl.Tables[1]
	if s.Name != "Simple" || aws.ToString(s.Definition.KeySchema[0].AttributeName) != "pk" || s.Definition.AttributeDefinitions[0].AttributeType != "N" {
		t.Errorf("Simple = %+v", s)
	}
}

func TestRawTemplate(t *testing.T) {
	tpl, err := Load("testdata/raw.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := tpl.API
	if a.LogicalID != "Ws" || a.Stage != "prod" || a.RouteSelectionExpression != "$request.body.type" {
		t.Errorf("API = %+v", a)
	}
	if len(a.Routes) != 2 || a.Routes["$connect"].Function != "Fn" || a.Routes["echo"].Function != "Fn" || !a.Routes["echo"].TwoWay {
		t.Errorf("routes = %+v", a.Routes)
	}
	if au := a.Authorizer; au == nil || au.Function != "AuthFn" || au.Name != "tok" {
		t.Errorf("authorizer = %+v", a.Authorizer)
	}
	if fn := tpl.Functions["Fn"]; fn.Name != "handler" || fn.CodeURI != "" || fn.Environment["TABLE"] != "Tbl" {
		t.Errorf("Fn = %+v", fn)
	}
}

// TestFixturesAreValid runs cfn-lint (with aws-sam-translator) over the
// fixtures: they are templates AWS would deploy.
func TestFixturesAreValid(t *testing.T) {
	lint := testsupport.CfnLint(t)
	out, err := exec.Command(lint[0], append(lint[1:], "testdata/sam.yaml", "testdata/raw.json")...).CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

func TestErrors(t *testing.T) {
	head := "Resources:\n"
	api := "  Api:\n    Type: AWS::Serverless::WebSocketApi\n    Properties:\n      RouteSelectionExpression: $request.body.action\n      Routes:\n        $connect:\n          FunctionArn: !GetAtt Fn.Arn\n"
	fn := "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Handler: bootstrap\n      CodeUri: testdata/app/main\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"not yaml", "Resources: [", []string{"t.yaml:1:"}},
		{"not a mapping", "- 1\n", []string{"t.yaml:1:1: a template is a mapping"}},
		{"no resources", "Outputs: {}\n", []string{"no Resources mapping"}},
		{"no api", head + fn, []string{"t.yaml:1:1: Resources: no WebSocket API"}},
		{"unknown property", head + api + fn + "      Handlr: x\n", []string{"t.yaml:15:7: Resources.Fn.Properties.Handlr: unknown property \"Handlr\""}},
		{"unknown ref", head + api + fn + "      Environment:\n        Variables:\n          T: !Ref Nope\n", []string{"t.yaml:17:11: Resources.Fn.Properties.Environment.Variables.T: Ref Nope: no such parameter or resource"}},
		{"unknown function", strings.Replace(head+api+fn, "!GetAtt Fn.Arn", "arn:aws:lambda:us-east-1:1:function:other", 1), []string{"t.yaml:8:11: Resources.Api.Properties.Routes.$connect.FunctionArn: \"arn:aws:lambda:us-east-1:1:function:other\" names no function"}},
		{"missing code", strings.Replace(head+api+fn, "testdata/app/main", "testdata/nope", 1), []string{"t.yaml:14:7: Resources.Fn.Properties.CodeUri: testdata/nope: no such file or directory"}},
		{"import", head + api + fn + "      Environment:\n        Variables:\n          T: !ImportValue other\n", []string{"Fn::ImportValue other: imports from other stacks have no local value"}},
		{"parameter without default", "Parameters:\n  P: {Type: String}\n" + head + api + fn + "      Environment:\n        Variables:\n          T: !Ref P\n", []string{"parameter P has no Default"}},
		{"bad auth", head + api + "      Auth:\n        AuthType: CUSTOM\n" + fn, []string{"t.yaml:9:7: Resources.Api.Properties.Auth: AuthArn is required"}},
		{"bad identity source", head + api + "      Auth:\n        AuthType: CUSTOM\n        AuthArn: !GetAtt Fn.Arn\n        IdentitySource: [method.request.header.A]\n" + fn, []string{"IdentitySource.0: \"method.request.header.A\": want route.request.header.NAME"}},
		{"two apis", head + api + strings.Replace(api, "  Api:", "  Api2:", 1) + fn, []string{"Resources.Api2: a second WebSocket API"}},
		{"bad key schema", head + api + fn + "  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n", []string{"KeySchema.0.AttributeName: pk is not in AttributeDefinitions"}},
		{"reserved env", head + api + fn + "      Environment:\n        Variables:\n          AWS_REGION: x\n", []string{"AWS_REGION is reserved by Lambda"}},
		{"bad selection", strings.Replace(head+api+fn, "$request.body.action", "$request.header.x", 1), []string{"t.yaml:5:7: Resources.Api.Properties.RouteSelectionExpression: \"$request.header.x\": a WebSocket API selects routes with $request.body.NAME"}},
		{"bad stage", strings.Replace(head+api+fn, "      Routes:\n", "      StageName: a/b\n      Routes:\n", 1), []string{"Resources.Api.Properties.StageName: stage \"a/b\""}},
		{"fn if", "Conditions:\n  Prod: !Equals [a, b]\n" + head + api + fn + "      Environment:\n        Variables:\n          T: !If [Prod, p, d]\n          U: !If [Nope, p, d]\n", []string{"Fn::If: no condition Nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml), Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("more than one error:\n%v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestFnIf(t *testing.T) {
	yaml := "Parameters:\n  Env: {Type: String, Default: prod}\nConditions:\n  Prod: !Equals [!Ref Env, prod]\nResources:\n" +
		"  Api:\n    Type: AWS::Serverless::WebSocketApi\n    Properties:\n      RouteSelectionExpression: $request.body.action\n      Routes:\n        $default:\n          FunctionArn: !GetAtt Fn.Arn\n" +
		"  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Handler: bootstrap\n      InlineCode: x\n      Environment:\n        Variables:\n          MODE: !If [Prod, live, test]\n"
	tpl, err := Parse("t.yaml", []byte(yaml), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Functions["Fn"].Environment["MODE"]; got != "live" {
		t.Errorf("MODE = %q, want live", got)
	}
	tpl, err = Parse("t.yaml", []byte(yaml), Options{Parameters: map[string]string{"Env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Functions["Fn"].Environment["MODE"]; got != "test" {
		t.Errorf("MODE with Env=dev = %q, want test", got)
	}
}

func TestErrorType(t *testing.T) {
	_, err := Parse("t.yaml", []byte("Resources: {}\n"), Options{})
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Line != 1 {
		t.Fatalf("err = %#v, want Errors with one positioned error", err)
	}
}

func TestSelfReference(t *testing.T) {
	yaml := "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      TableName: !Join [-, [!Ref T, x]]\n      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      KeySchema: [{AttributeName: id, KeyType: HASH}]\n"
	_, err := Parse("t.yaml", []byte(yaml), Options{})
	if err == nil || !strings.Contains(err.Error(), "t.yaml:5:7: Resources.T.Properties.TableName: TableName of T refers to itself") {
		t.Fatalf("err = %v", err)
	}
}
