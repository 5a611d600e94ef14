package devauth_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/internal/devauth"
)

// allowAll stands for the authorizer function: it allows everything and
// returns a context with a number and a boolean.
type allowAll struct{}

func (allowAll) Invoke(context.Context, []byte) ([]byte, error) {
	return []byte(`{"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[
		{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},
		"context":{"plan":"pro","level":3,"admin":true}}`), nil
}

func ExampleAuthorizer_Authorize() {
	a, err := devauth.New(devauth.Config{
		Invoker:        allowAll{},
		IdentitySource: []string{"route.request.querystring.token"},
	})
	if err != nil {
		panic(err)
	}
	connect := &events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{RouteKey: "$connect", APIID: "api1", Stage: "dev", ConnectionID: "c1="},
	}
	d := a.Authorize(context.Background(), connect)
	fmt.Println("without a token:", d.Status, d.Message)

	connect.QueryStringParameters = map[string]string{"token": "t"}
	d = a.Authorize(context.Background(), connect)
	fmt.Printf("with one: allowed=%v level=%q admin=%q principalId=%q\n", d.Allowed, d.Context["level"], d.Context["admin"], d.Context["principalId"])
	// Output:
	// without a token: 401 Unauthorized
	// with one: allowed=true level="3" admin="true" principalId="u1"
}
