package dynamo_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/lawckettest"
)

// benchSpec has five expression fields.
const benchSpec = `table: Connections
ttl: 2h
fields:
  user:
    expr: query.user ?? "anonymous"
  room:
    expr: query.room
    required: true
    index: true
  team:
    expr: lower(headers["x-team"])
    default: none
  ip:
    expr: requestContext.identity.sourceIp
  agent:
    expr: headers["user-agent"]
`

// lifecycles stamps a distinct connection id into the connect, message and
// disconnect events of lifecycle i, in place: no per-lifecycle allocation or
// encoding, so neither side of the comparison pays for the test's own work
// and peak RSS is the handler's.
type lifecycles struct {
	raw [3][]byte
	off [3]int
}

const benchID = "bench-0000000000="

func makeLifecycles(b *testing.B) *lifecycles {
	b.Helper()
	l := &lifecycles{}
	id := lawckettest.ConnectionID(benchID)
	for k, req := range []events.APIGatewayWebsocketProxyRequest{
		connectEvent(id, lawckettest.Header("X-Team", "Blue")),
		lawckettest.Message(`{"action":"sendmessage","text":"hi"}`, id),
		lawckettest.Disconnect(id),
	} {
		raw := lawckettest.JSON(req)
		l.raw[k] = raw
		l.off[k] = strings.Index(string(raw), benchID) + len("bench-")
	}
	return l
}

// events returns lifecycle i's three events (valid until the next call).
func (l *lifecycles) events(i int) [3][]byte {
	for k := range l.raw {
		digits := l.raw[k][l.off[k] : l.off[k]+10]
		for d, n := len(digits)-1, i; d >= 0; d, n = d-1, n/10 {
			digits[d] = byte('0' + n%10)
		}
	}
	return l.raw
}

// cpu is the process's user+system CPU time and peak RSS (getrusage
// RUSAGE_SELF). dynalite runs in its own process: its CPU is not counted.
func cpu(b *testing.B) (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss
}

// measure runs every lifecycle through h and reports the client CPU per
// lifecycle and the process's peak RSS.
func measure(b *testing.B, h lambda.Handler, l *lifecycles) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start, _ := cpu(b)
	for i := range b.N {
		for _, raw := range l.events(i) {
			out, err := h.Invoke(ctx, raw)
			if err != nil {
				b.Fatal(err)
			}
			if !strings.Contains(string(out), `"statusCode":200`) {
				b.Fatalf("response %s", out)
			}
		}
	}
	b.StopTimer()
	end, maxrss := cpu(b)
	b.ReportMetric(float64((end-start).Microseconds())/float64(b.N), "cpu-µs/lifecycle")
	b.ReportMetric(float64(maxrss)/1024, "peak-RSS-MB")
}

// BenchmarkLifecycle: connect + message + close through the Lambda decode
// path, with lawcket (wrapper + dynamo plugin, 5 expression fields) and with
// a hand-written handler making the same PutItem/DeleteItem with the raw SDK.
//
//	go test -run '^$' -bench Lifecycle -benchtime 2000x -count 3 ./dynamo
func BenchmarkLifecycle(b *testing.B) {
	endpoint := dynalitetest.Start(b)
	client := dynalitetest.Client(endpoint)
	spec := parseSpec(b, benchSpec)
	dynalitetest.CreateTable(b, client, dynamo.TableDefinition(spec, ""))

	// withLawcket is the handler under test: the wrapper with the dynamo plugin.
	withLawcket := func(b *testing.B) lambda.Handler {
		p, err := dynamo.NewPlugin(context.Background(), spec, dynamo.WithClient(client))
		if err != nil {
			b.Fatal(err)
		}
		return newInvoker(p).h
	}

	b.Run("lawcket", func(b *testing.B) {
		l := makeLifecycles(b)
		measure(b, withLawcket(b), l)
	})

	b.Run("raw", func(b *testing.B) {
		l := makeLifecycles(b)
		measure(b, lambda.NewHandler(rawHandler(client, spec.Table, 2*time.Hour)), l)
	})

	// interleaved alternates chunks of 50 lifecycles between the two, so a
	// shared machine's changing load falls on both alike; it reports both
	// figures and their ratio.
	b.Run("interleaved", func(b *testing.B) {
		l := makeLifecycles(b)
		handlers := [2]lambda.Handler{withLawcket(b), lambda.NewHandler(rawHandler(client, spec.Table, 2*time.Hour))}
		var spent [2]time.Duration
		var n [2]int
		ctx := context.Background()
		b.ResetTimer()
		const chunk = 50
		for lo := 0; lo < b.N; lo += chunk {
			which := (lo / chunk) % 2
			hi := min(lo+chunk, b.N)
			start, _ := cpu(b)
			for i := lo; i < hi; i++ {
				for _, raw := range l.events(i) {
					if _, err := handlers[which].Invoke(ctx, raw); err != nil {
						b.Fatal(err)
					}
				}
			}
			end, _ := cpu(b)
			spent[which] += end - start
			n[which] += hi - lo
		}
		b.StopTimer()
		if n[0] == 0 || n[1] == 0 {
			return // the b.N=1 probe run
		}
		fw := float64(spent[0].Microseconds()) / float64(n[0])
		raw := float64(spent[1].Microseconds()) / float64(n[1])
		b.ReportMetric(fw, "lawcket-cpu-µs/lifecycle")
		b.ReportMetric(raw, "raw-cpu-µs/lifecycle")
		b.ReportMetric(fw/raw, "ratio")
	})
}

// rawHandler is what the same Lambda looks like with no framework: the
// five fields computed by hand, one PutItem on connect, one DeleteItem on
// disconnect, nothing on messages.
func rawHandler(c *dynamodb.Client, table string, ttl time.Duration) func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		rc := req.RequestContext
		switch rc.EventType {
		case "CONNECT":
			user := req.QueryStringParameters["user"]
			if user == "" {
				user = "anonymous"
			}
			room := req.QueryStringParameters["room"]
			if room == "" {
				return events.APIGatewayProxyResponse{StatusCode: 400, Body: "field room: required"}, nil
			}
			team := "none"
			if t := header(req.Headers, "x-team"); t != "" {
				team = strings.ToLower(t)
			}
			item := map[string]types.AttributeValue{
				"user":         &types.AttributeValueMemberS{Value: user},
				"room":         &types.AttributeValueMemberS{Value: room},
				"team":         &types.AttributeValueMemberS{Value: team},
				"ip":           &types.AttributeValueMemberS{Value: rc.Identity.SourceIP},
				"agent":        &types.AttributeValueMemberS{Value: header(req.Headers, "user-agent")},
				"connectionId": &types.AttributeValueMemberS{Value: rc.ConnectionID},
				"domainName":   &types.AttributeValueMemberS{Value: rc.DomainName},
				"stage":        &types.AttributeValueMemberS{Value: rc.Stage},
				"connectedAt":  &types.AttributeValueMemberN{Value: strconv.FormatInt(rc.ConnectedAt, 10)},
				"expiresAt":    &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(ttl).Unix(), 10)},
			}
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
				return events.APIGatewayProxyResponse{StatusCode: 500}, err
			}
		case "DISCONNECT":
			if _, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName: aws.String(table),
				Key:       map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: rc.ConnectionID}},
			}); err != nil {
				return events.APIGatewayProxyResponse{StatusCode: 500}, err
			}
		case "MESSAGE":
		default:
			return events.APIGatewayProxyResponse{StatusCode: 400}, fmt.Errorf("unknown event type %q", rc.EventType)
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// BenchmarkBuildItem: evaluating five expression fields and marshalling the
// row, with no I/O (the plugin's whole CPU work on connect besides the SDK).
func BenchmarkBuildItem(b *testing.B) {
	spec := parseSpec(b, benchSpec)
	req := connectEvent()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dynamo.BuildItem(spec, &req, now); err != nil {
			b.Fatal(err)
		}
	}
}
