package main

import (
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/lambdarun"
	"github.com/lawcket/lawcket/syncspec"
)

//go:embed lawcket.yaml events/*.json
var files embed.FS

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("syncdemo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "the spec to run (default: the demo's own lawcket.yaml)")
	noRIE := fs.Bool("no-rie", false, "use the Runtime API of lawcket dev (internal/runtimeapi) even when aws-lambda-rie is installed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := demo(ctx, *config, *noRIE, stdout); err != nil {
		fmt.Fprintln(stderr, "syncdemo:", err)
		return 1
	}
	return 0
}

func demo(ctx context.Context, config string, noRIE bool, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	specData, err := files.ReadFile("lawcket.yaml")
	if config != "" {
		specData, err = os.ReadFile(config)
	}
	if err != nil {
		return err
	}
	// LAWCKET_TABLE / LAWCKET_TTL apply here as they will in the Lambda.
	spec, err := syncspec.Parse(nameOr(config, "lawcket.yaml"), specData)
	if err != nil {
		return fmt.Errorf("invalid spec:\n%w", err)
	}

	endpoint, stop, err := dynalitetest.Launch()
	if err != nil {
		return fmt.Errorf("%w (run `make deps` to install dynalite)", err)
	}
	defer stop()
	client := dynalitetest.Client(endpoint)
	if _, err := client.CreateTable(ctx, dynamo.TableDefinition(spec, "")); err != nil {
		return err
	}
	fmt.Fprintf(out, "dynalite on %s, table %s created (key connectionId, %d GSI)\n", endpoint, spec.Table, len(spec.IndexFields()))

	// Count the Lambda's DynamoDB requests on their way to dynalite.
	counter := &dynalitetest.Counter{}
	proxy, err := counter.Proxy(endpoint)
	if err != nil {
		return err
	}
	defer proxy.Close()

	dir, err := os.MkdirTemp("", "lawcket-sync-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(out, "building bootstrap: CGO_ENABLED=0 go build -tags lambda.norpc ./cmd/lawcket-sync")
	bootstrap, err := lambdarun.Build(ctx, dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "lawcket.yaml"), specData, 0o644); err != nil {
		return err
	}
	rie, ok := lambdarun.FindRIE()
	if !ok || noRIE {
		rie = ""
	}
	fn, err := lambdarun.Start(ctx, rie, bootstrap, []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + proxy.URL,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=demo",
		"AWS_SECRET_ACCESS_KEY=demo",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-credentials"),
	})
	if err != nil {
		return err
	}
	defer fn.Close()
	fmt.Fprintf(out, "running %s with lawcket.yaml beside it under %s\n\n", bootstrap, modeName(fn.Mode))

	var connectionID, previous string
	for _, step := range []struct{ title, file string }{
		{"$connect", "events/connect.json"},
		{"message", "events/message.json"},
		{"$disconnect", "events/disconnect.json"},
		{"$connect", "events/connect-no-query.json"},
	} {
		event, err := files.ReadFile(step.file)
		if err != nil {
			return err
		}
		var req events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(event, &req); err != nil {
			return err
		}
		connectionID = req.RequestContext.ConnectionID
		counter.Reset()
		r, err := fn.Invoke(ctx, event)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, fn.Output())
		}
		if r.Error != "" {
			return fmt.Errorf("%s: function error %s: %s\n%s", step.title, r.Error, r.Payload, fn.Output())
		}
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(r.Payload, &resp); err != nil {
			return fmt.Errorf("%s: response %s: %w", step.title, r.Payload, err)
		}
		fmt.Fprintf(out, "→ %-11s %-28s ← %d%s; DynamoDB requests: %s\n", step.title, step.file, resp.StatusCode, quoted(resp.Body), requests(counter))
		row, err := client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(spec.Table),
			Key:       map[string]types.AttributeValue{dynamo.AttrConnectionID: &types.AttributeValueMemberS{Value: connectionID}},
		})
		if err != nil {
			return err
		}
		if row.Item == nil {
			fmt.Fprintf(out, "  row %s: none\n", connectionID)
			continue
		}
		names := make([]string, 0, len(row.Item))
		for k := range row.Item {
			names = append(names, k)
		}
		sort.Strings(names)
		var text strings.Builder
		for _, k := range names {
			fmt.Fprintf(&text, "    %-13s %s\n", k, show(row.Item[k]))
		}
		if text.String() == previous {
			fmt.Fprintf(out, "  row %s: unchanged\n", connectionID)
			continue
		}
		previous = text.String()
		fmt.Fprintf(out, "  row %s:\n%s", connectionID, previous)
	}
	return nil
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func modeName(mode string) string {
	if mode == "rie" {
		return "the AWS Lambda Runtime Interface Emulator (aws-lambda-rie)"
	}
	return "the Lambda Runtime API of `lawcket dev` (aws-lambda-rie not installed)"
}

func requests(c *dynalitetest.Counter) string {
	if c.Count("") == 0 {
		return "none"
	}
	var s []string
	for _, op := range []string{"PutItem", "DeleteItem", "Query", "Scan", "GetItem"} {
		if n := c.Count(op); n > 0 {
			s = append(s, fmt.Sprintf("%d %s", n, op))
		}
	}
	return strings.Join(s, ", ")
}

func quoted(body string) string {
	if body == "" {
		return ""
	}
	return fmt.Sprintf(" %q", body)
}

// show prints a value with its DynamoDB type, as the console does.
func show(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return fmt.Sprintf("S  %q", v.Value)
	case *types.AttributeValueMemberN:
		return "N  " + v.Value
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprintf("BOOL %v", v.Value)
	}
	b, _ := json.Marshal(av)
	return fmt.Sprintf("%T %s", av, b)
}
