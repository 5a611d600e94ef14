package stack

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/events"
	"github.com/awslabs/goformation/v7/cloudformation/lambda"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// SweepScheduleID is the logical id of the sweep's EventBridge rule.
const SweepScheduleID = "SweepSchedule"

// Schedule is an EventBridge rule invoking a function on a schedule, with
// the permission that lets EventBridge invoke it.
type Schedule struct {
	ID string
	// Expression is EventBridge's rate(...) or cron(...).
	Expression string
	Target     *Function
}

// scheduleExpr is what EventBridge takes: rate(1 minute), rate(N minutes)
// (and hours, days), or cron(six fields).
var (
	rateExpr = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)
	cronExpr = regexp.MustCompile(`^cron\(\S+( \S+){5}\)$`)
)

// checkSchedule reports an expression EventBridge would refuse.
func checkSchedule(expr string) error {
	if m := rateExpr.FindStringSubmatch(expr); m != nil {
		one, singular := m[1] == "1", m[2] == "minute" || m[2] == "hour" || m[2] == "day"
		if one != singular {
			return fmt.Errorf("sweep schedule %q: EventBridge wants the singular unit for 1 (rate(1 minute)) and the plural otherwise (rate(15 minutes))", expr)
		}
		return nil
	}
	if cronExpr.MatchString(expr) {
		return nil
	}
	return fmt.Errorf("sweep schedule %q: want rate(N minutes|hours|days) or cron(MIN HOUR DAY MONTH WEEKDAY YEAR), e.g. rate(15 minutes)", expr)
}

// addSweep runs channels' sweep on a schedule: an EventBridge rule invoking
// lawcket-sync (Sync shape), which answers a scheduled event with a sweep
// (cmd/lawcket-sync), and the grants a sweep needs beyond the sync's: Scan
// of the connections table (the subscriptions table's Scan follows in
// channelsFeature) and GET @connections.
func (s *Stack) addSweep(o Options, conns *Table, sync *Function) error {
	switch {
	case sync == nil:
		return errors.New("stack: a sweep schedule needs --shape sync: lawcket-sync runs the sweep on a scheduled event (in your own function, call channels.Sweeper on one)")
	case s.Spec.Channels == nil:
		return errors.New("stack: a sweep schedule needs a channels: section: the sweep removes the rows and subscriptions of connections that are gone")
	}
	if err := checkSchedule(o.Sweep); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	addOps(sync, conns, Scan)
	addOps(sync, nil, GetConnection)
	s.Schedules = append(s.Schedules, &Schedule{ID: SweepScheduleID, Expression: o.Sweep, Target: sync})
	return nil
}

// cfnSchedule adds the rule and the permission.
func cfnSchedule(t *cloudformation.Template, sc *Schedule) {
	t.Resources[sc.ID] = &events.Rule{
		Description:        aws.String("lawcket: runs " + sc.Target.ID + "'s sweep of gone connections"),
		ScheduleExpression: aws.String(sc.Expression),
		State:              aws.String("ENABLED"),
		Targets:            []events.Rule_Target{{Arn: cloudformation.GetAtt(sc.Target.ID, "Arn"), Id: "sweep"}},
	}
	t.Resources[sc.ID+"Permission"] = &lambda.Permission{
		Action:       "lambda:InvokeFunction",
		FunctionName: cloudformation.Ref(sc.Target.ID),
		Principal:    "events.amazonaws.com",
		SourceArn:    aws.String(cloudformation.GetAtt(sc.ID, "Arn")),
	}
}

// tfSchedule adds the rule, its target and the permission.
func tfSchedule(root *hclwrite.Body, sc *Schedule) {
	name, fn := SnakeCase(sc.ID), "aws_lambda_function."+SnakeCase(sc.Target.ID)
	r := block(root, "resource", "aws_cloudwatch_event_rule", name)
	r.SetAttributeValue("description", cty.StringVal("lawcket: runs "+sc.Target.ID+"'s sweep of gone connections"))
	r.SetAttributeValue("schedule_expression", cty.StringVal(sc.Expression))
	tg := block(root, "resource", "aws_cloudwatch_event_target", name)
	tg.SetAttributeTraversal("rule", trav("aws_cloudwatch_event_rule."+name+".name"))
	tg.SetAttributeTraversal("arn", trav(fn+".arn"))
	p := block(root, "resource", "aws_lambda_permission", name)
	p.SetAttributeValue("action", cty.StringVal("lambda:InvokeFunction"))
	p.SetAttributeTraversal("function_name", trav(fn+".function_name"))
	p.SetAttributeValue("principal", cty.StringVal("events.amazonaws.com"))
	p.SetAttributeTraversal("source_arn", trav("aws_cloudwatch_event_rule."+name+".arn"))
}
