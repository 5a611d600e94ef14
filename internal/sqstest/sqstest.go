package sqstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Start starts sqslite and returns its endpoint, e.g. http://127.0.0.1:39211.
func Start(t testing.TB) string {
	t.Helper()
	endpoint, err := start(t.Cleanup)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sqstest: %v (CI=true: the integration tests must run; run `make test`)", err)
		}
		t.Skipf("sqstest: %v (run `make test` to install it)", err)
	}
	return endpoint
}

// Client returns an SQS client for endpoint with static test credentials.
func Client(endpoint string, optFns ...func(*sqs.Options)) *sqs.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	return sqs.NewFromConfig(cfg, append([]func(*sqs.Options){func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}}, optFns...)...)
}

// CreateQueue creates a standard queue and returns its URL.
func CreateQueue(t testing.TB, c *sqs.Client, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("sqstest: create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func start(cleanup func(func())) (string, error) {
	bin, err := find()
	if err != nil {
		return "", err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node is not installed")
	}
	// sqslite takes --port 0 as its default port: take a free port, release
	// it, and retry on the rare race where another process grabs it first.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		endpoint, err := launch(cleanup, bin, port)
		if err == nil {
			return endpoint, nil
		}
		lastErr = err
	}
	return "", lastErr
}

func launch(cleanup func(func()), bin string, port int) (string, error) {
	cmd := exec.Command("node", bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start sqslite: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	endpoint := "http://" + addr
	c := Client(endpoint)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			return "", fmt.Errorf("sqslite exited before listening on %s: %v", addr, err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			continue
		}
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = c.ListQueues(ctx, &sqs.ListQueuesInput{})
		cancel()
		if err != nil {
			stop()
			return "", fmt.Errorf("sqslite on %s does not answer ListQueues: %w", addr, err)
		}
		cleanup(stop)
		return endpoint, nil
	}
	stop()
	return "", fmt.Errorf("sqslite did not listen on %s within 15s", addr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// find locates sqslite's CLI script.
func find() (string, error) {
	if p := os.Getenv("LAWCKET_SQSLITE"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "node_modules", "sqslite", "bin", "cli.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
				return "", fmt.Errorf("sqslite is not installed in %s/node_modules", dir)
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("sqslite not found (no node_modules/sqslite above the working directory)")
		}
		dir = parent
	}
}
