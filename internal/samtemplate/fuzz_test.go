package samtemplate

import (
	"os"
	"testing"
)

// FuzzParse: no template makes the reader panic or hang.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/sam.yaml", "testdata/raw.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Resources:\n  A: !Sub [x]\n"))
	f.Add([]byte("Resources:\n  A: {Type: AWS::Serverless::WebSocketApi, Properties: {Routes: {$x: {FunctionArn: !Select [9, []]}}}}\n"))
	f.Add([]byte("Conditions: {A: {Condition: B}, B: {Condition: A}}\nResources: {X: {Type: T, Condition: A, Properties: {V: !If [A, 1, 2]}}}\n"))
	f.Add([]byte("Resources:\n  T: {Type: AWS::DynamoDB::Table, Properties: {TableName: !Join [-, [!Ref T, !Ref T]]}}\n  F: {Type: AWS::Serverless::Function, Properties: {Environment: {Variables: {A: !Ref T}}}}\n"))
	f.Add([]byte(`{"Resources": {"A": {"Fn::Sub": []}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := Parse("f.yaml", data, Options{})
		if err == nil && tpl.API == nil {
			t.Fatal("no error and no API")
		}
	})
}
