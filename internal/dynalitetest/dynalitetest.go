package dynalitetest

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lawcket/lawcket/internal/testsupport"
)

// Start starts dynalite and returns its endpoint, e.g. http://127.0.0.1:39211.
func Start(t testing.TB) string {
	t.Helper()
	endpoint, err := start(t.Cleanup)
	if err != nil {
		testsupport.Missing(t, "dynalitetest: %v (run `make test` to install it)", err)
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

// start launches dynalite; cleanup registers the function that stops it.
func start(cleanup func(func())) (string, error) {
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
		endpoint, err := launch(cleanup, bin, port)
		if err == nil {
			return endpoint, nil
		}
		lastErr = err
	}
	return "", lastErr
}

func launch(cleanup func(func()), bin string, port int) (string, error) {
	cmd := exec.Command("node", bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Stderr = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", fmt.Errorf("start dynalite: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start dynalite: %w", err)
	}
	// Ready when this process says it listens: a successful dial alone could
	// reach another server that took the port first (the process then exits
	// with EADDRINUSE, and its caller would talk to a stranger's tables).
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			if !said && strings.HasPrefix(sc.Text(), "Dynalite listening at:") {
				said = true
				close(listening)
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	select {
	case <-listening:
	case err := <-exited:
		exited <- err
		return "", fmt.Errorf("dynalite exited before listening on %s: %v", addr, err)
	case <-time.After(15 * time.Second):
		stop()
		return "", fmt.Errorf("dynalite did not listen on %s within 15s", addr)
	}
	cleanup(stop)
	endpoint := "http://" + addr
	if err := ping(endpoint); err != nil {
		return "", err
	}
	return endpoint, nil
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
	return testsupport.NodeModule("dynalite", "cli.js")
}

// Counter is an http.RoundTripper that counts the DynamoDB requests passing
// through it, by operation (the X-Amz-Target header, e.g. "PutItem"). Install
// it with WithCounter. A Counter is safe for concurrent use.
type Counter struct {
	// Next is the transport requests go to (nil: http.DefaultTransport).
	Next http.RoundTripper

	mu  sync.Mutex
	ops map[string]int
}

// RoundTrip counts req and sends it on.
func (c *Counter) RoundTrip(req *http.Request) (*http.Response, error) {
	op := req.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	c.mu.Lock()
	if c.ops == nil {
		c.ops = make(map[string]int)
	}
	c.ops[op]++
	c.mu.Unlock()
	next := c.Next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(req)
}

// Count returns how many requests of operation op were sent; op "" counts
// them all.
func (c *Counter) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op != "" {
		return c.ops[op]
	}
	n := 0
	for _, v := range c.ops {
		n += v
	}
	return n
}

// Reset sets every count to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.ops = nil
	c.mu.Unlock()
}

// WithCounter sends a client's requests through c (an option for Client).
func WithCounter(c *Counter) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: c} }
}

// Proxy serves a reverse proxy to endpoint whose requests c counts, for a
// client that cannot take WithCounter (a Lambda bootstrap in another process,
// given the proxy's URL in AWS_ENDPOINT_URL_DYNAMODB). Close the server when
// done.
func (c *Counter) Proxy(endpoint string) (*httptest.Server, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("dynalitetest: proxy to %q: %w", endpoint, err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = c
	return httptest.NewServer(rp), nil
}

// Launch starts dynalite outside a test (for demos and tools): it returns
// the endpoint and a function that stops the server. It fails, never skips,
// when dynalite or node is missing.
func Launch() (endpoint string, stop func(), err error) {
	return testsupport.Launch(start)
}

// IndexSafe reports whether a row keyed id can go into a dynalite GSI next
// to the ids already in seen, and adds it. dynalite keys a GSI entry by the
// index key and only the first 24 bits of an MD5 of the table key, so two
// rows of one index value whose hashes collide keep one index entry (with
// 10,000 rows, about 3 rows vanish from a GSI Query). DynamoDB has no such
// limit; tests and benchmarks that count rows skip those ids.
func IndexSafe(seen map[string]bool, id string) bool {
	sum := md5.Sum([]byte("Outliers" + id))
	h := hex.EncodeToString(sum[:3])
	if seen[h] {
		return false
	}
	seen[h] = true
	return true
}
