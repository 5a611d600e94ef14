// Package devauth runs a Lambda REQUEST authorizer on $connect the way API
// Gateway runs it for a WebSocket API, for `lawcket dev`.
//
// Given the $connect event the gateway built, Authorize:
//
//  1. checks the identity sources (route.request.header.NAME,
//     route.request.querystring.NAME, stageVariables.NAME): one missing or
//     empty answers 401 without invoking the authorizer, as API Gateway does;
//  2. invokes the authorizer function with the authorizer event — type
//     REQUEST, methodArn arn:aws:execute-api:REGION:ACCOUNT:APIID/STAGE/$connect,
//     headers and multiValueHeaders (with Connection and Upgrade, which the
//     $connect event does not carry), queryStringParameters and
//     multiValueQueryStringParameters when there is a query string,
//     stageVariables, and the $connect requestContext (with connectionId), as
//     in the developer guide's "Control access to WebSocket APIs with AWS
//     Lambda REQUEST authorizers";
//  3. reads the answer: an IAM policy whose statements Allow execute-api:Invoke
//     on the methodArn (wildcards * and ?) and none of which Deny it lets the
//     client in; a Deny, no matching Allow, or an answer that is not an
//     authorizer response is 403; the function failing with the error
//     message "Unauthorized" (Node's callback("Unauthorized")) is 401; failing
//     otherwise (an error, a crash, a timeout) is 500; a context with a value that is not a string, number,
//     boolean or null, or larger than 8 KB in JSON, is 500 (API Gateway's
//     AuthorizerConfigurationException);
//  4. on Allow, returns requestContext.authorizer for $connect and every
//     later event of the connection: principalId, integrationLatency (the
//     authorizer's run time in ms, a number) and each context key with its
//     value stringified ("123", "true"), as API Gateway delivers them to a
//     Lambda proxy integration (null stays null).
//
// Where the stringification comes from: the API Gateway developer guide
// ("Output from an API Gateway Lambda authorizer": "the returned values are
// all stringified"; "Configuring logging for a WebSocket API":
// $context.authorizer.property is "the stringified value"), and captures from deployed APIs in
// DefinitelyTyped/DefinitelyTyped#69823 ({"bool":"true","num":"123",
// "null":null,"integrationLatency":0}) and dherault/serverless-offline#1376
// (non-scalar context values answer 500 AuthorizerConfigurationException;
// scalars arrive as strings; serverless-offline's authValidateContext.js and
// WebSocketClients.js do the same, and answer 401 for "Unauthorized" and 403
// for a missing principalId or a policy that does not allow methodArn).
//
// Authorization results are not cached (WebSocket authorizers run on every
// $connect).
//
// # Concurrency
//
// An Authorizer is immutable after New; Authorize may be called
// concurrently (the Invoker must allow it).
package devauth
