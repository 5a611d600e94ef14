// Package dynalitetest starts dynalite, a DynamoDB-compatible server, for
// integration tests.
//
// Lifecycle: Start launches one dynalite process per call on a free loopback
// port with --createTableMs 0 and stops it with t.Cleanup. dynalite is found in
// the module's node_modules (installed by `make test` from the committed
// package-lock.json) or at $LAWCKET_DYNALITE. When it cannot be started the
// test is skipped, except under CI=true, where it fails: CI must never pass
// by skipping the real server.
//
// Start is safe to call from parallel tests; each call gets its own server.
package dynalitetest

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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Start starts dynalite and returns its endpoint, e.g. http://127.0.0.1:39211.
func Start(t testing.TB) string {
	t.Helper()
	endpoint, err := start(t)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dynalitetest: %v (CI=true: the integration tests must run; run `make test`)", err)
		}
		t.Skipf("dynalitetest: %v (run `make test` to install it)", err)
	}
	return endpoint
}

// Client returns a DynamoDB client for endpoint with static test credentials.
// Extra options (for example a counting HTTP client) are applied last.
func Client(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}}, optFns...)...)
}

// CreateTable creates a table and waits until it is ACTIVE (dynalite with
// --createTableMs 0 needs only a moment).
func CreateTable(t testing.TB, c *dynamodb.Client, in *dynamodb.CreateTableInput) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CreateTable(ctx, in); err != nil {
		t.Fatalf("dynalitetest: create table %s: %v", aws.ToString(in.TableName), err)
	}
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 100 * time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 10*time.Second); err != nil {
		t.Fatalf("dynalitetest: table %s not ACTIVE: %v", aws.ToString(in.TableName), err)
	}
}

func start(t testing.TB) (string, error) {
	bin, err := find()
	if err != nil {
		return "", err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node is not installed")
	}
	// dynalite has no "--port 0": take a free port, release it, and retry on
	// the rare race where another process grabs it first.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		endpoint, err := launch(t, bin, port)
		if err == nil {
			return endpoint, nil
		}
		lastErr = err
	}
	return "", lastErr
}

func launch(t testing.TB, bin string, port int) (string, error) {
	cmd := exec.Command("node", bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Stdout = nil
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start dynalite: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return "", fmt.Errorf("dynalite exited before listening on %s: %v", addr, err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			t.Cleanup(stop)
			endpoint := "http://" + addr
			if err := ping(endpoint); err != nil {
				return "", err
			}
			return endpoint, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	stop()
	return "", fmt.Errorf("dynalite did not listen on %s within 15s", addr)
}

func ping(endpoint string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Client(endpoint).ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		return fmt.Errorf("dynalite at %s does not answer: %w", endpoint, err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// find locates dynalite's CLI script.
func find() (string, error) {
	if p := os.Getenv("LAWCKET_DYNALITE"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "node_modules", "dynalite", "cli.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
				return "", fmt.Errorf("dynalite is not installed in %s/node_modules", dir)
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("dynalite not found (no node_modules/dynalite above the working directory)")
		}
		dir = parent
	}
}
