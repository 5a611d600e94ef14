package samtemplate_test

import (
	"fmt"
	"strings"

	"github.com/lawcket/lawcket/internal/samtemplate"
)

// A SAM WebSocket API with one function, read with its references resolved
// to local values.
func ExampleParse() {
	const template = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      RouteSelectionExpression: $request.body.action
      StageName: dev
      Routes:
        $connect: {FunctionArn: !GetAtt Fn.Arn}
        send: {FunctionArn: !GetAtt Fn.Arn}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      InlineCode: "-"
      Environment:
        Variables:
          TABLE: !Ref Connections
          TABLE_ARN: !GetAtt Connections.Arn
  Connections:
    Type: AWS::Serverless::SimpleTable
    Properties:
      TableName: !Sub "${AWS::StackName}-connections"
`
	tpl, err := samtemplate.Parse("template.yaml", []byte(template), samtemplate.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stage:", tpl.API.Stage, "routes:", strings.Join(tpl.API.RouteKeys(), " "))
	fmt.Println("TABLE:", tpl.Functions["Fn"].Environment["TABLE"])
	fmt.Println("TABLE_ARN:", tpl.Functions["Fn"].Environment["TABLE_ARN"])

	_, err = samtemplate.Parse("template.yaml", []byte(strings.Replace(template, "!Ref Connections", "!Ref Conections", 1)), samtemplate.Options{})
	fmt.Println(err)
	// Output:
	// stage: dev routes: $connect send
	// TABLE: lawcket-dev-connections
	// TABLE_ARN: arn:aws:dynamodb:us-east-1:000000000000:table/lawcket-dev-connections
	// template.yaml:20:11: Resources.Fn.Properties.Environment.Variables.TABLE: Ref Conections: no such parameter or resource
}
