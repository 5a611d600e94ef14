package sqstest

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lawcket/lawcket/internal/testsupport"
)

// launcher is fauxqs.mjs, run with `node --input-type=module -e`.
//
//go:embed fauxqs.mjs
var launcher string

// listening is the line the launcher prints once the server listens.
const listening = "fauxqs listening at "

// Region is the region of Client (and of the queue ARNs fauxqs gives).
const Region = "us-east-1"

// Start starts fauxqs and returns its endpoint, e.g. http://127.0.0.1:39211.
// The server is stopped by t.Cleanup.
func Start(t testing.TB) string {
	t.Helper()
	endpoint, err := start(t.Cleanup)
	if err != nil {
		testsupport.Missing(t, "sqstest: %v (run `make test` to install it)", err)
	}
	return endpoint
}

// Launch starts fauxqs outside a test (demos, benchmarks' tools): it
// returns the endpoint and a function that stops the server. It fails,
// never skips, when fauxqs or node is missing.
func Launch() (endpoint string, stop func(), err error) {
	return testsupport.Launch(start)
}

// Client returns an SQS client for endpoint with static test credentials
// in Region. Extra options are applied last.
//
// Its connections are not kept alive. Over a reused connection to fauxqs,
// about one call in 250 (2-core machine under load, -race) failed after its
// 200 while the body was read ("use of closed network connection"), and the
// SDK retried it: a retried ReceiveMessage leaves the first attempt's
// messages in flight, unseen, for the visibility timeout, and a test
// counting them sees fewer. A stress run shaped like TestManyRounds (60
// rounds, 3 times, in package fanout beside two other packages' -race
// tests) had 2 of 180 rounds short by 10 messages with keep-alive, none
// without; TestManyRounds checks that no call is retried.
func Client(endpoint string, optFns ...func(*sqs.Options)) *sqs.Client {
	cfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.DisableKeepAlives = true
		}),
	}
	return sqs.NewFromConfig(cfg, append([]func(*sqs.Options){func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}}, optFns...)...)
}

// Queue is a created queue.
type Queue struct {
	Name string
	// URL is the queue URL fauxqs answered (http://sqs.REGION.localhost:PORT/
	// 000000000000/NAME): the server knows a queue by it, while every call
	// goes to the client's endpoint, as with LocalStack.
	URL string
	// ARN is the QueueArn attribute, for a RedrivePolicy and for the
	// eventSourceARN of SQS events.
	ARN string
}

// CreateQueue creates a standard queue with attrs (SQS attribute names,
// e.g. "VisibilityTimeout": "1", "RedrivePolicy": RedrivePolicy(dlq.ARN, 3))
// and returns it with its ARN.
func CreateQueue(t testing.TB, c *sqs.Client, name string, attrs map[string]string) Queue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("sqstest: create queue %s: %v", name, err)
	}
	q := Queue{Name: name, URL: aws.ToString(out.QueueUrl)}
	got, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("sqstest: queue %s: QueueArn: %v", name, err)
	}
	q.ARN = got.Attributes[string(types.QueueAttributeNameQueueArn)]
	if q.ARN == "" {
		t.Fatalf("sqstest: queue %s has no QueueArn", name)
	}
	return q
}

// CreateQueueWithDLQ creates the dead-letter queue NAME-dlq, then queue
// NAME with attrs and a RedrivePolicy sending a message to the DLQ once
// it has been received more than maxReceiveCount times.
func CreateQueueWithDLQ(t testing.TB, c *sqs.Client, name string, maxReceiveCount int, attrs map[string]string) (queue, dlq Queue) {
	t.Helper()
	dlq = CreateQueue(t, c, name+"-dlq", nil)
	all := map[string]string{"RedrivePolicy": RedrivePolicy(dlq.ARN, maxReceiveCount)}
	for k, v := range attrs {
		all[k] = v
	}
	return CreateQueue(t, c, name, all), dlq
}

// RedrivePolicy is the RedrivePolicy attribute moving a message to the
// queue deadLetterTargetARN after maxReceiveCount receives.
func RedrivePolicy(deadLetterTargetARN string, maxReceiveCount int) string {
	b, _ := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     string `json:"maxReceiveCount"`
	}{deadLetterTargetARN, strconv.Itoa(maxReceiveCount)})
	return string(b)
}

// Depth is what a queue holds, from its Approximate… attributes (exact on
// fauxqs).
type Depth struct {
	Visible    int // ApproximateNumberOfMessages
	NotVisible int // ApproximateNumberOfMessagesNotVisible (in flight)
	Delayed    int // ApproximateNumberOfMessagesDelayed
}

// Total is every message on the queue.
func (d Depth) Total() int { return d.Visible + d.NotVisible + d.Delayed }

// QueueDepth reads queueURL's Depth.
func QueueDepth(t testing.TB, c *sqs.Client, queueURL string) Depth {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		types.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		t.Fatalf("sqstest: depth of %s: %v", queueURL, err)
	}
	n := func(a types.QueueAttributeName) int {
		v, err := strconv.Atoi(out.Attributes[string(a)])
		if err != nil {
			t.Fatalf("sqstest: %s of %s = %q", a, queueURL, out.Attributes[string(a)])
		}
		return v
	}
	return Depth{n(types.QueueAttributeNameApproximateNumberOfMessages), n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)}
}

// ReceiveAll receives every message now visible on queueURL (up to max),
// with their system attributes, and deletes none: they stay in flight for
// the queue's visibility timeout.
func ReceiveAll(t testing.TB, c *sqs.Client, queueURL string, max int) []types.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var all []types.Message
	for len(all) < max {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: int32(min(10, max-len(all))),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatalf("sqstest: receive from %s: %v", queueURL, err)
		}
		if len(out.Messages) == 0 {
			break
		}
		all = append(all, out.Messages...)
	}
	return all
}

// start launches fauxqs; cleanup registers the function that stops it.
func start(cleanup func(func())) (string, error) {
	entry, err := find()
	if err != nil {
		return "", err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node is not installed")
	}
	cmd := exec.Command("node", "--input-type=module", "-e", launcher, entry)
	// The server lives while this pipe is open: when the test process ends,
	// however it ends, node sees end of input and exits.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", fmt.Errorf("start fauxqs: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", fmt.Errorf("start fauxqs: %w", err)
	}
	stderr := &tail{max: 4096}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start fauxqs: %w", err)
	}
	// Ready when this process says where it listens (the port is the one
	// it bound, never a stranger's).
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			if line := sc.Text(); !said && strings.HasPrefix(line, listening) {
				said = true
				addr <- strings.TrimSpace(strings.TrimPrefix(line, listening))
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	var endpoint string
	select {
	case endpoint = <-addr:
	case err := <-exited:
		exited <- err
		return "", fmt.Errorf("fauxqs (%s) exited before listening: %v\n%s", entry, err, stderr.String())
	case <-time.After(15 * time.Second):
		stop()
		return "", fmt.Errorf("fauxqs (%s) did not listen within 15s\n%s", entry, stderr.String())
	}
	cleanup(stop)
	if u, err := url.Parse(endpoint); err != nil || u.Hostname() != "127.0.0.1" {
		return "", fmt.Errorf("fauxqs listens at %q, want a loopback http://127.0.0.1:PORT", endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Client(endpoint).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		return "", fmt.Errorf("fauxqs at %s does not answer: %w", endpoint, err)
	}
	return endpoint, nil
}

// find locates fauxqs's entry point (dist/app.js): $LAWCKET_FAUXQS (the
// package's directory), else node_modules/fauxqs in the working directory
// or above, up to the module root.
func find() (string, error) {
	if p := os.Getenv("LAWCKET_FAUXQS"); p != "" {
		entry := filepath.Join(p, "dist", "app.js")
		if _, err := os.Stat(entry); err != nil {
			return "", fmt.Errorf("LAWCKET_FAUXQS=%s: %w", p, err)
		}
		return entry, nil
	}
	return testsupport.NodeModule("fauxqs", filepath.Join("dist", "app.js"))
}

// tail keeps the last max bytes written to it (a process's stderr, for the
// error when it fails to start).
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > w.max {
		w.buf = w.buf[len(w.buf)-w.max:]
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.TrimSpace(w.buf))
}
