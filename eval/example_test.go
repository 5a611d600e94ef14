package eval_test

import (
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/eval"
)

func ExampleCompile() {
	_, err := eval.Compile([]eval.Field{
		{Name: "user", Expr: `query.usr ?? usr`},
		{Name: "stage", Value: "prod"},
	}, eval.Options{})
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		fmt.Println(e)
	}
	// Output:
	// user.expr:1:14: unknown name usr
	//  | query.usr ?? usr
	//  | .............^
	// stage: stage is reserved: lawcket writes it itself
}

func ExampleProgram_Evaluate() {
	p, err := eval.Compile([]eval.Field{
		{Name: "channel", Value: "#general"},
		{Name: "user", Expr: `query.user ?? "anonymous"`},
		{Name: "team", Expr: `lower(headers["x-team"])`, Default: "none", HasDefault: true},
		{Name: "room", Expr: `query.room`, Required: true},
	}, eval.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := &events.APIGatewayWebsocketProxyRequest{
		Headers:               map[string]string{"X-Team": "Red"},
		QueryStringParameters: map[string]string{"room": "lobby"},
	}
	row, err := p.Evaluate(req)
	fmt.Println(row, err)

	req.QueryStringParameters = nil // no query string at all
	_, err = p.Evaluate(req)
	var refusal *eval.Refusal
	if errors.As(err, &refusal) {
		fmt.Println("refused:", refusal.Field, refusal.Reason)
	}
	// Output:
	// map[channel:#general room:lobby team:red user:anonymous] <nil>
	// refused: room required, but its expression gave nil
}

func ExampleNewEnv() {
	env := eval.NewEnv(&events.APIGatewayWebsocketProxyRequest{
		Headers: map[string]string{"X-Team": "Red"},
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			ConnectionID: "abc=", Stage: "prod",
			Authorizer: map[string]any{"principalId": "user-42", "admin": "true"},
		},
	}, map[string]string{"STAGE_NAME": "prod"})
	fmt.Println(env["query"], env["headers"], env["authorizer"], env["env"])
	// Output:
	// map[] map[x-team:Red] map[admin:true principalId:user-42] map[STAGE_NAME:prod]
}

// A string no row could hold is refused at compile time when the
// expression reads nothing of the event, and fails the field at run time
// otherwise: a required field refuses the connection, naming the field.
func ExampleErrLimit() {
	_, err := eval.Compile([]eval.Field{{Name: "pad", Expr: `repeat(repeat("x", 99999), 99999)`}}, eval.Options{})
	fmt.Println(err)

	p, err := eval.Compile([]eval.Field{{Name: "pad", Expr: `repeat(query.x ?? "x", 300000) + repeat(query.x ?? "x", 300000)`, Required: true}}, eval.Options{})
	if err != nil {
		panic(err)
	}
	_, err = p.Evaluate(&events.APIGatewayWebsocketProxyRequest{})
	fmt.Println(err, errors.Is(err, eval.ErrLimit))
	// Output:
	// pad.expr: the expression reads nothing of the connection and always fails: the strings it builds exceed 409600 bytes (DynamoDB's 400 KB item limit)
	// field pad: required, but its expression exceeded a limit: the strings it builds exceed 409600 bytes (DynamoDB's 400 KB item limit) true
}
