package stack

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/lambda"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/lawcket/lawcket/syncspec"
	"github.com/zclconf/go-cty/cty"
)

// Fan-out names.
const (
	FanoutFunction = "FanoutFunction"
	FanoutQueueID  = "FanoutQueue"
	// EnvFanoutQueue tells the app's function the fan-out queue's URL, where
	// it enqueues the jobs of fanout.Plan (SendMessage).
	EnvFanoutQueue = "LAWCKET_FANOUT_QUEUE_URL"
	// fanoutTimeout is the worker's timeout: a job's posts stop
	// fanout.DeadlineMargin before it.
	fanoutTimeout = 300
)

// The SQS operations of the fan-out: the app sends jobs; the event source
// mapping receives and deletes them with the worker's role.
const (
	SendMessage        Op = "sqs:SendMessage"
	ReceiveMessage     Op = "sqs:ReceiveMessage"
	DeleteMessage      Op = "sqs:DeleteMessage"
	GetQueueAttributes Op = "sqs:GetQueueAttributes"
)

// addFanout adds the fan-out of package fanout: an SQS queue of jobs (with
// a dead-letter queue after 3 receives, and a visibility timeout of six
// times the worker's timeout, as AWS advises), the worker lawcket-fanout
// (built with lawcket.yaml beside it by the Makefile target
// build-FanoutFunction; fed by an event source mapping with
// ReportBatchItemFailures), its grants — Query on the indexes and Scan (a
// job is one index value or one Scan segment), DeleteItem of gone rows,
// POST @connections, and the queue's receive side — and, for the app, the
// queue's URL (LAWCKET_FANOUT_QUEUE_URL) and sqs:SendMessage on it.
func (s *Stack) addFanout(conns *Table, indexes []string, app *Function, codeURI string) {
	if codeURI == "" {
		codeURI = "."
	}
	var indexOps []Op
	if len(indexes) > 0 {
		indexOps = []Op{Query}
	}
	w := &Function{
		ID: FanoutFunction, Name: "fanout", CodeURI: codeURI, BuildMethod: "makefile", Timeout: fanoutTimeout,
		Description: "lawcket-fanout: runs the broadcast segment jobs of the fan-out queue",
		Env:         []EnvVar{{Name: syncspec.EnvTable, Table: conns}},
		Grants: []Grant{
			{Table: conns, Ops: []Op{DeleteItem, Scan}, IndexOps: indexOps, Indexes: indexes},
			{Ops: []Op{PostToConnection}},
		},
	}
	s.Functions = append(s.Functions, w)
	q := &Queue{ID: FanoutQueueID, VisibilityTimeout: 6 * fanoutTimeout, MaxReceives: 3, BatchSize: 1, Consumer: w}
	s.Queues = append(s.Queues, q)
	s.Grant(Grant{Queue: q, Ops: []Op{ReceiveMessage, DeleteMessage, GetQueueAttributes}}, w)
	s.Grant(Grant{Queue: q, Ops: []Op{SendMessage}}, app)
	app.Env = append(app.Env, EnvVar{Name: EnvFanoutQueue, Queue: q})
}

func timeout(f *Function) int {
	if f.Timeout == 0 {
		return 29
	}
	return f.Timeout
}

// cfnQueue adds q, its dead-letter queue and the event source mapping.
func cfnQueue(t *cloudformation.Template, q *Queue) {
	dlq := q.ID + "DeadLetter"
	t.Resources[dlq] = &sqs.Queue{MessageRetentionPeriod: aws.Int(14 * 24 * 3600)}
	t.Resources[q.ID] = &sqs.Queue{
		VisibilityTimeout: aws.Int(q.VisibilityTimeout),
		RedrivePolicy:     map[string]any{"deadLetterTargetArn": cloudformation.GetAtt(dlq, "Arn"), "maxReceiveCount": q.MaxReceives},
	}
	t.Resources[q.ID+"Mapping"] = &lambda.EventSourceMapping{
		EventSourceArn:        aws.String(cloudformation.GetAtt(q.ID, "Arn")),
		FunctionName:          cloudformation.Ref(q.Consumer.ID),
		BatchSize:             aws.Int(q.BatchSize),
		FunctionResponseTypes: []string{"ReportBatchItemFailures"},
	}
	t.Outputs[q.ID+"Url"] = cloudformation.Output{Value: cloudformation.Ref(q.ID), Description: aws.String("the fan-out queue (" + EnvFanoutQueue + ")")}
}

// tfQueue adds q, its dead-letter queue and the event source mapping.
func tfQueue(root *hclwrite.Body, q *Queue) {
	name := SnakeCase(q.ID)
	dlq := block(root, "resource", "aws_sqs_queue", name+"_dead_letter")
	dlq.SetAttributeValue("message_retention_seconds", cty.NumberIntVal(14*24*3600))
	b := block(root, "resource", "aws_sqs_queue", name)
	b.SetAttributeValue("visibility_timeout_seconds", cty.NumberIntVal(int64(q.VisibilityTimeout)))
	b.SetAttributeRaw("redrive_policy", hclwrite.TokensForFunctionCall("jsonencode", hclwrite.TokensForObject([]hclwrite.ObjectAttrTokens{
		{Name: hclwrite.TokensForIdentifier("deadLetterTargetArn"), Value: refTokens("aws_sqs_queue." + name + "_dead_letter.arn")},
		{Name: hclwrite.TokensForIdentifier("maxReceiveCount"), Value: hclwrite.TokensForValue(cty.NumberIntVal(int64(q.MaxReceives)))},
	})))
	m := block(root, "resource", "aws_lambda_event_source_mapping", name)
	m.SetAttributeTraversal("event_source_arn", trav("aws_sqs_queue."+name+".arn"))
	m.SetAttributeTraversal("function_name", trav("aws_lambda_function."+SnakeCase(q.Consumer.ID)+".arn"))
	m.SetAttributeValue("batch_size", cty.NumberIntVal(int64(q.BatchSize)))
	m.SetAttributeValue("function_response_types", strings2([]string{"ReportBatchItemFailures"}))
}
