package eval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/syncspec"
)

// connectSpec is dynamo's benchmark spec: five expression fields, every
// one a constant-key access that flat.go rewrites.
const connectSpec = `table: Connections
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

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConnectFlat measures what flattening (flat.go) saves on a full
// $connect: the Lambda decode path, the wrapper, the dynamo plugin's
// evaluation and its PutItem against dynalite. Two handlers, one over a
// spec compiled with flattening and one without, alternate in chunks of
// 50 connects in the same run; it reports the client CPU of each per
// connect, and the saving as a percentage of the unflattened connect.
//
//	go test -run '^$' -bench ConnectFlat -benchtime 4000x -count 3 ./eval
func BenchmarkConnectFlat(b *testing.B) {
	endpoint := dynalitetest.Start(b)
	client := dynalitetest.Client(endpoint)
	var handlers [2]lambda.Handler // 0: flattened, 1: not
	for i, on := range []bool{true, false} {
		eval.SetFlatten(on)
		spec, err := syncspec.Parse("lawcket.yaml", []byte(connectSpec), syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
		eval.SetFlatten(true)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			dynalitetest.CreateTable(b, client, dynamo.TableDefinition(spec, ""))
		}
		p, err := dynamo.NewPlugin(context.Background(), spec, dynamo.WithClient(client))
		if err != nil {
			b.Fatal(err)
		}
		app := lawcket.New(lawcket.WithPlugins(p))
		handlers[i] = lambda.NewHandler(app.Handler())
	}
	data, err := os.ReadFile(filepath.Join("..", "testdata", "events", "connect.json"))
	if err != nil {
		b.Fatal(err)
	}
	var req events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(data, &req); err != nil {
		b.Fatal(err)
	}
	req.Headers["X-Team"] = "Blue"
	if req.QueryStringParameters == nil {
		req.QueryStringParameters = map[string]string{}
	}
	req.QueryStringParameters["room"] = "lobby"
	raws := make([][]byte, b.N)
	for i := range raws {
		req.RequestContext.ConnectionID = fmt.Sprintf("flat-%010d=", i)
		raws[i], _ = json.Marshal(&req)
	}
	ctx := context.Background()
	var spent [2]time.Duration
	var n [2]int
	b.ResetTimer()
	const chunk = 50
	for lo := 0; lo < b.N; lo += chunk {
		which := (lo / chunk) % 2
		hi := min(lo+chunk, b.N)
		start := processCPU(b)
		for i := lo; i < hi; i++ {
			out, err := handlers[which].Invoke(ctx, raws[i])
			if err != nil || !strings.Contains(string(out), `"statusCode":200`) {
				b.Fatalf("connect: %s %v", out, err)
			}
		}
		spent[which] += processCPU(b) - start
		n[which] += hi - lo
	}
	b.StopTimer()
	if n[0] == 0 || n[1] == 0 {
		return // the b.N=1 probe run
	}
	flat := float64(spent[0].Microseconds()) / float64(n[0])
	strict := float64(spent[1].Microseconds()) / float64(n[1])
	b.ReportMetric(flat, "flat-cpu-µs/connect")
	b.ReportMetric(strict, "strict-cpu-µs/connect")
	b.ReportMetric(100*(strict-flat)/strict, "saved-%")
}

// BenchmarkEvaluateFlat is the same comparison for the evaluation alone.
//
//	go test -run '^$' -bench EvaluateFlat -count 3 ./eval
func BenchmarkEvaluateFlat(b *testing.B) {
	req := event(b, "connect")
	req.Headers["X-Team"] = "Blue"
	req.QueryStringParameters["room"] = "lobby"
	for _, on := range []bool{true, false} {
		eval.SetFlatten(on)
		spec, err := syncspec.Parse("lawcket.yaml", []byte(connectSpec), syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
		eval.SetFlatten(true)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("flatten=%v", on), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := spec.Evaluate(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
