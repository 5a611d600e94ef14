package stack

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/apigatewayv2"
	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/lambda"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
)

// Logical ids of the API's resources.
const (
	APIID        = "WebSocketApi"
	StageID      = "Stage"
	AuthorizerID = "ConnectAuthorizer"
)

// CloudFormation renders s as a goformation template: with sam true, the
// functions are AWS::Serverless::Function (built by `sam build` from
// CodeUri) under the SAM transform; else AWS::Lambda::Function with an
// IAM role each, their code from S3 parameters. The WebSocket API is the
// AWS::ApiGatewayV2 resources in both (goformation has no
// AWS::Serverless::WebSocketApi type, and the raw resources deploy the
// same way with or without the transform).
func (s *Stack) CloudFormation(sam bool) (*cloudformation.Template, error) {
	t := cloudformation.NewTemplate()
	if sam {
		t.Transform = &cloudformation.Transform{String: aws.String("AWS::Serverless-2016-10-31")}
	}
	t.Description = "lawcket: the WebSocket API, functions and connections table of " + s.Spec.Table
	if !s.API {
		t.Description = "lawcket connections table " + s.Spec.Table + " and the policy of the functions that sync or broadcast"
	}
	for _, tb := range s.Tables {
		res, err := cfnTable(tb)
		if err != nil {
			return nil, err
		}
		t.Resources[tb.ID] = res
		t.Outputs[tb.ID+"Name"] = cloudformation.Output{Value: cloudformation.Ref(tb.ID), Description: aws.String("the table's name (" + tb.EnvVar + ")")}
	}
	if !s.API {
		s.cfnPolicyOnly(t)
		return t, nil
	}
	if !sam {
		t.Parameters["CodeBucket"] = cloudformation.Parameter{Type: "String", Description: aws.String("the S3 bucket holding the functions' zip files (each a bootstrap built for provided.al2023)")}
	}
	t.Resources[APIID] = &apigatewayv2.Api{
		Name:                     aws.String(s.Spec.Table),
		ProtocolType:             aws.String("WEBSOCKET"),
		RouteSelectionExpression: aws.String(s.Selection),
		Description:              aws.String("lawcket WebSocket API of " + s.Spec.Table),
	}
	for _, f := range s.Functions {
		s.cfnFunction(t, f, sam)
	}
	for _, q := range s.Queues {
		cfnQueue(t, q)
	}
	for _, sc := range s.Schedules {
		cfnSchedule(t, sc)
	}
	routeIDs := s.routeIDs()
	for i, r := range s.Routes {
		id := routeIDs[i]
		route := &apigatewayv2.Route{
			ApiId:             cloudformation.Ref(APIID),
			RouteKey:          r.Key,
			Target:            aws.String(cloudformation.Sub("integrations/${" + r.Function.ID + "Integration}")),
			AuthorizationType: aws.String("NONE"),
		}
		if r.Key == "$connect" {
			route.OperationName = aws.String("connect")
		}
		if r.Authorized {
			route.AuthorizationType = aws.String("CUSTOM")
			route.AuthorizerId = aws.String(cloudformation.Ref(AuthorizerID))
		}
		t.Resources[id] = route
	}
	if a := s.Authorizer; a != nil {
		arn := a.ARN
		fn := a.ARN
		if a.Function != nil {
			arn = "${" + a.Function.ID + ".Arn}"
			fn = cloudformation.Ref(a.Function.ID)
		}
		t.Resources[AuthorizerID] = &apigatewayv2.Authorizer{
			ApiId:          cloudformation.Ref(APIID),
			AuthorizerType: "REQUEST",
			Name:           "lawcket-connect",
			AuthorizerUri:  aws.String(cloudformation.Sub(invokeURI(arn))),
			IdentitySource: a.Identity,
		}
		t.Resources[AuthorizerID+"Permission"] = &lambda.Permission{
			Action:       "lambda:InvokeFunction",
			FunctionName: fn,
			Principal:    "apigateway.amazonaws.com",
			SourceArn:    aws.String(cloudformation.Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${" + APIID + "}/authorizers/${" + AuthorizerID + "}")),
		}
	}
	stage := &apigatewayv2.Stage{
		ApiId:                      cloudformation.Ref(APIID),
		StageName:                  s.Stage,
		AutoDeploy:                 aws.Bool(true),
		Description:                aws.String("deployed on every change of the routes"),
		AWSCloudFormationDependsOn: routeIDs,
	}
	if th := s.Throttling; th != nil {
		stage.DefaultRouteSettings = &apigatewayv2.Stage_RouteSettings{ThrottlingRateLimit: aws.Float64(th.Rate), ThrottlingBurstLimit: aws.Int(th.Burst)}
	}
	t.Resources[StageID] = stage
	host := "${" + APIID + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + s.Stage
	t.Outputs["WebSocketURL"] = cloudformation.Output{Value: cloudformation.Sub("wss://" + host), Description: aws.String("the URL clients connect to")}
	t.Outputs["ManagementEndpoint"] = cloudformation.Output{Value: cloudformation.Sub("https://" + host), Description: aws.String("the API Gateway Management API endpoint (post to connections from elsewhere)")}
	t.Outputs[APIID+"Id"] = cloudformation.Output{Value: cloudformation.Ref(APIID)}
	return t, nil
}

// cfnFunction adds f, its log group, integration and invoke permission.
func (s *Stack) cfnFunction(t *cloudformation.Template, f *Function, sam bool) {
	env := map[string]string{}
	for _, e := range f.Env {
		if e.Table != nil {
			env[e.Name] = cloudformation.Ref(e.Table.ID)
		} else if e.Queue != nil {
			env[e.Name] = cloudformation.Ref(e.Queue.ID)
		} else {
			env[e.Name] = e.Value
		}
	}
	logID := f.ID + "Logs"
	statements := s.cfnStatements(f)
	if sam {
		fn := &serverless.Function{
			CodeUri:       &serverless.Function_CodeUri{String: aws.String(f.CodeURI)},
			Handler:       aws.String("bootstrap"),
			Runtime:       aws.String("provided.al2023"),
			Architectures: []string{s.Arch},
			Description:   aws.String(f.Description),
			MemorySize:    aws.Int(128),
			Timeout:       aws.Int(timeout(f)),
			AWSCloudFormationMetadata: map[string]any{
				"BuildMethod": f.BuildMethod,
			},
		}
		if f.BuildMethod == "go1.x" {
			fn.AWSCloudFormationMetadata["BuildProperties"] = map[string]any{"TrimGoPath": true}
		}
		if len(env) > 0 {
			fn.Environment = &serverless.Function_FunctionEnvironment{Variables: env}
		}
		if len(statements) > 0 {
			fn.Policies = &serverless.Function_Policies{IAMPolicyDocument: &serverless.Function_IAMPolicyDocument{
				Version: aws.String("2012-10-17"), Statement: statements,
			}}
		}
		t.Resources[f.ID] = fn
		t.Resources[logID] = &logs.LogGroup{
			LogGroupName:    aws.String(cloudformation.Sub("/aws/lambda/${" + f.ID + "}")),
			RetentionInDays: aws.Int(s.Retention),
		}
	} else {
		roleID := f.ID + "Role"
		logStatement := map[string]any{
			"Sid":      "Logs",
			"Effect":   "Allow",
			"Action":   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": []string{cloudformation.GetAtt(logID, "Arn")},
		}
		role := &iam.Role{
			AssumeRolePolicyDocument: map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
				}},
			},
			Description: aws.String("the role of " + f.ID),
			Policies: []iam.Role_Policy{{
				PolicyName:     "lawcket",
				PolicyDocument: map[string]any{"Version": "2012-10-17", "Statement": append([]any{logStatement}, statements...)},
			}},
		}
		t.Resources[roleID] = role
		t.Parameters[f.ID+"CodeKey"] = cloudformation.Parameter{Type: "String", Description: aws.String("the S3 key of " + f.ID + "'s zip (its bootstrap, from " + f.CodeURI + ")")}
		fn := &lambda.Function{
			Code:          &lambda.Function_Code{S3Bucket: aws.String(cloudformation.Ref("CodeBucket")), S3Key: aws.String(cloudformation.Ref(f.ID + "CodeKey"))},
			Handler:       aws.String("bootstrap"),
			Runtime:       aws.String("provided.al2023"),
			Architectures: []string{s.Arch},
			Description:   aws.String(f.Description),
			MemorySize:    aws.Int(128),
			Timeout:       aws.Int(timeout(f)),
			Role:          cloudformation.GetAtt(roleID, "Arn"),
			LoggingConfig: &lambda.Function_LoggingConfig{LogGroup: aws.String(cloudformation.Ref(logID))},
		}
		if len(env) > 0 {
			fn.Environment = &lambda.Function_Environment{Variables: env}
		}
		t.Resources[f.ID] = fn
		t.Resources[logID] = &logs.LogGroup{RetentionInDays: aws.Int(s.Retention)}
	}
	if s.Authorizer != nil && s.Authorizer.Function == f {
		return // invoked as the authorizer only
	}
	t.Resources[f.ID+"Integration"] = &apigatewayv2.Integration{
		ApiId:           cloudformation.Ref(APIID),
		IntegrationType: "AWS_PROXY",
		IntegrationUri:  aws.String(cloudformation.Sub(invokeURI("${" + f.ID + ".Arn}"))),
	}
	t.Resources[f.ID+"Permission"] = &lambda.Permission{
		Action:       "lambda:InvokeFunction",
		FunctionName: cloudformation.Ref(f.ID),
		Principal:    "apigateway.amazonaws.com",
		SourceArn:    aws.String(cloudformation.Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${" + APIID + "}/" + s.Stage + "/*")),
	}
}

func invokeURI(functionArn string) string {
	return "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/" + functionArn + "/invocations"
}

// cfnPolicyOnly adds what `lawcket table` prints beside the table: one
// managed policy, the API and stage as parameters.
func (s *Stack) cfnPolicyOnly(t *cloudformation.Template) {
	if s.Serverless {
		for _, f := range s.Functions {
			t.Resources[f.ID] = &iam.ManagedPolicy{PolicyDocument: map[string]any{"Version": "2012-10-17", "Statement": s.cfnStatements(f)}}
		}
		return
	}
	t.Parameters["ApiId"] = cloudformation.Parameter{Type: "String", Description: aws.String("the id of the WebSocket API whose connections the policy may post to"), AllowedPattern: aws.String("^[a-z0-9]{10}$")}
	t.Parameters["StageName"] = cloudformation.Parameter{Type: "String", Default: s.Stage, Description: aws.String("the API's stage")}
	for _, f := range s.Functions {
		t.Resources[f.ID] = &iam.ManagedPolicy{
			Description:    aws.String("lawcket: the connections table's rows (sync and broadcast) and posts to this API's connections"),
			PolicyDocument: map[string]any{"Version": "2012-10-17", "Statement": s.cfnStatements(f)},
		}
		t.Outputs[f.ID+"Arn"] = cloudformation.Output{Value: cloudformation.Ref(f.ID), Description: aws.String("attach to the roles of the functions that sync or broadcast")}
	}
}

func (s *Stack) cfnStatements(f *Function) []any {
	var out []any
	for _, st := range f.Statements() {
		var res []string
		for _, r := range st.Resources {
			res = append(res, s.cfnARN(r))
		}
		out = append(out, map[string]any{"Sid": st.Sid, "Effect": "Allow", "Action": st.Actions, "Resource": res})
	}
	return out
}

func (s *Stack) cfnARN(r Resource) string {
	switch {
	case r.Queue != nil:
		return cloudformation.GetAtt(r.Queue.ID, "Arn")
	case r.Table != nil && r.Index == "":
		return cloudformation.GetAtt(r.Table.ID, "Arn")
	case r.Table != nil && s.Serverless:
		return cloudformation.Join("/", []any{cloudformation.GetAtt(r.Table.ID, "Arn"), "index", r.Index})
	case r.Table != nil:
		return cloudformation.Sub("${" + r.Table.ID + ".Arn}/index/" + r.Index)
	case s.Serverless:
		return cloudformation.Join(":", []any{"arn", cloudformation.Ref("AWS::Partition"), "execute-api", cloudformation.Ref("AWS::Region"), cloudformation.Ref("AWS::AccountId"),
			cloudformation.Join("/", []any{cloudformation.Ref("WebsocketsApi"), "${sls:stage}", string(r.Method), "@connections/*"})})
	case s.API:
		return cloudformation.Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${" + APIID + "}/" + s.Stage + "/" + string(r.Method) + "/@connections/*")
	default:
		return cloudformation.Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ApiId}/${StageName}/" + string(r.Method) + "/@connections/*")
	}
}

func cfnTable(tb *Table) (*dynamodb.Table, error) {
	in := tb.Def
	res := &dynamodb.Table{
		TableName:   in.TableName,
		BillingMode: aws.String(string(in.BillingMode)),
	}
	if in.BillingMode == "" {
		res.BillingMode = aws.String(string(types.BillingModeProvisioned))
	}
	for _, a := range in.AttributeDefinitions {
		res.AttributeDefinitions = append(res.AttributeDefinitions, dynamodb.Table_AttributeDefinition{AttributeName: aws.ToString(a.AttributeName), AttributeType: string(a.AttributeType)})
	}
	res.KeySchema = cfnKeys(in.KeySchema)
	res.ProvisionedThroughput = cfnThroughput(in.ProvisionedThroughput)
	for _, g := range in.GlobalSecondaryIndexes {
		gsi := dynamodb.Table_GlobalSecondaryIndex{
			IndexName:  aws.ToString(g.IndexName),
			KeySchema:  cfnKeys(g.KeySchema),
			Projection: &dynamodb.Table_Projection{ProjectionType: aws.String("ALL")},
		}
		if p := g.Projection; p != nil {
			if p.ProjectionType != "" {
				gsi.Projection.ProjectionType = aws.String(string(p.ProjectionType))
			}
			gsi.Projection.NonKeyAttributes = p.NonKeyAttributes
		}
		gsi.ProvisionedThroughput = cfnThroughput(g.ProvisionedThroughput)
		res.GlobalSecondaryIndexes = append(res.GlobalSecondaryIndexes, gsi)
	}
	if tb.TTL != "" {
		res.TimeToLiveSpecification = &dynamodb.Table_TimeToLiveSpecification{AttributeName: aws.String(tb.TTL), Enabled: true}
	}
	return res, nil
}

func cfnKeys(ks []types.KeySchemaElement) []dynamodb.Table_KeySchema {
	var out []dynamodb.Table_KeySchema
	for _, k := range ks {
		out = append(out, dynamodb.Table_KeySchema{AttributeName: aws.ToString(k.AttributeName), KeyType: string(k.KeyType)})
	}
	return out
}

func cfnThroughput(p *types.ProvisionedThroughput) *dynamodb.Table_ProvisionedThroughput {
	if p == nil {
		return nil
	}
	return &dynamodb.Table_ProvisionedThroughput{ReadCapacityUnits: int(aws.ToInt64(p.ReadCapacityUnits)), WriteCapacityUnits: int(aws.ToInt64(p.WriteCapacityUnits))}
}

// routeIDs are the routes' logical ids: ConnectRoute, DisconnectRoute,
// DefaultRoute, then <Key>Route for custom routes (the key's letters and
// digits, capitalized), Route<N><Key> where that would be empty or taken.
func (s *Stack) routeIDs() []string {
	ids := make([]string, len(s.Routes))
	used := map[string]bool{}
	for i, r := range s.Routes {
		var id string
		switch r.Key {
		case "$connect":
			id = "ConnectRoute"
		case "$disconnect":
			id = "DisconnectRoute"
		case "$default":
			id = "DefaultRoute"
		default:
			name := alnum(r.Key)
			id = name + "Route"
			if name == "" || used[id] || !unicode.IsLetter(rune(name[0])) {
				id = fmt.Sprintf("Route%d%s", i, name)
			}
		}
		used[id] = true
		ids[i] = id
	}
	return ids
}

// alnum is key's ASCII letters and digits, each run capitalized, at most 40.
func alnum(key string) string {
	var b strings.Builder
	up := true
	for _, r := range key {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if up {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			up = false
		} else {
			up = true
		}
	}
	name := b.String()
	if len(name) > 40 {
		name = name[:40]
	}
	return name
}
