package localdynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"
)

// Server is the embedded in-memory DynamoDB on a loopback port. Start it
// with Start, stop it with Close.
type Server struct {
	srv  *http.Server
	url  string
	done chan struct{}
}

// Options configure Start.
type Options struct {
	// NoIndex answers every Query by minidyn's scan of the table, as the
	// embedded store did before it was indexed: a baseline for benchmarks.
	NoIndex bool
}

// Start serves an empty in-memory DynamoDB on a free loopback port.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("localdynamo: %w", err)
	}
	a := &minidynAdapter{next: server.NewServer()}
	if !opts.NoIndex {
		a.index = newIndexer()
	}
	s := &Server{
		srv:  &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second},
		url:  "http://" + ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// URL is the endpoint (http://127.0.0.1:PORT), for AWS_ENDPOINT_URL_DYNAMODB.
func (s *Server) URL() string { return s.url }

// Close stops the server; its data is gone. Calling it again does nothing.
func (s *Server) Close() {
	s.srv.Close()
	<-s.done
}

// Client returns an SDK client for endpoint. On a loopback endpoint (the
// embedded server, dynalite, DynamoDB Local) it uses the static "local"
// credentials and no shared config, so a stray AWS_PROFILE cannot break
// local use; elsewhere it loads the default AWS configuration.
func Client(ctx context.Context, endpoint, region string) (*dynamodb.Client, error) {
	if IsLoopback(endpoint) {
		return dynamodb.New(dynamodb.Options{
			Region:       region,
			Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
			BaseEndpoint: aws.String(endpoint),
		}), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("localdynamo: AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}), nil
}

// IsLoopback reports whether endpoint's host is localhost or a loopback IP.
func IsLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// EnsureTable creates the table def describes and waits until it is ACTIVE
// (at most 30 s). An existing table of that name is kept as it is: created
// is false and err nil.
func EnsureTable(ctx context.Context, client *dynamodb.Client, def *dynamodb.CreateTableInput) (created bool, err error) {
	if def == nil || def.TableName == nil {
		return false, errors.New("localdynamo: no table name")
	}
	_, err = client.CreateTable(ctx, def)
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("localdynamo: create table %s: %w", *def.TableName, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: def.TableName}, 30*time.Second); err != nil {
		return false, fmt.Errorf("localdynamo: table %s did not become active: %w", *def.TableName, err)
	}
	return true, nil
}

// minidynAdapter fills two gaps of minidyn's HTTP server that the SDK
// notices: it sets the X-Amz-Crc32 header DynamoDB always sends (the SDK's
// checksum middleware otherwise logs a mismatch on every response), and
// reports TableStatus ACTIVE in CreateTable and DescribeTable (minidyn leaves
// it empty, so the SDK's TableExistsWaiter would never finish).
//
// With an index (see indexer) it also answers indexed GSI Queries itself.
type minidynAdapter struct {
	next  http.Handler
	index *indexer // nil: every request goes to minidyn
}

// maxRequest bounds a request body (DynamoDB's own limit is 16 MB).
const maxRequest = 16 << 20

func (a *minidynAdapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	_, op, _ := strings.Cut(target, ".")
	rec := &recorder{header: http.Header{}, Code: http.StatusOK}
	if a.index == nil || r.Method != http.MethodPost {
		a.next.ServeHTTP(rec, r)
	} else {
		in, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
		if err != nil || len(in) > maxRequest {
			http.Error(w, `{"__type":"com.amazon.coral.validate#ValidationException","message":"request too large or unreadable"}`, http.StatusBadRequest)
			return
		}
		a.serveIndexed(rec, r, op, in)
	}
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK && (op == "DescribeTable" || op == "CreateTable") {
		body = withActiveStatus(body)
	}
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/x-amz-json-1.0")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// serveIndexed answers op with the index where it can, else through
// minidyn, keeping the index up to date.
func (a *minidynAdapter) serveIndexed(rec *recorder, r *http.Request, op string, in []byte) {
	forward := func() {
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(in))
		r2.ContentLength = int64(len(in))
		a.next.ServeHTTP(rec, r2)
	}
	ix := a.index
	switch op {
	case "Query":
		if out, ok := ix.query(in); ok {
			rec.Write(out)
			return
		}
		forward()
	case "PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems":
		ix.mu.Lock()
		defer ix.mu.Unlock()
		forward()
		if rec.Code == http.StatusOK {
			ix.afterWrite(a.next, op, in)
		}
	case "CreateTable":
		forward()
		if rec.Code == http.StatusOK {
			ix.created(in)
		}
	case "DeleteTable", "UpdateTable":
		forward()
		ix.forget(in)
	default:
		forward()
	}
}

// withActiveStatus sets Table.TableStatus / TableDescription.TableStatus to
// ACTIVE when it is missing.
func withActiveStatus(body []byte) []byte {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return body
	}
	changed := false
	for _, k := range []string{"Table", "TableDescription"} {
		if t, ok := m[k].(map[string]any); ok {
			if st, _ := t["TableStatus"].(string); st == "" {
				t["TableStatus"] = "ACTIVE"
				changed = true
			}
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// recorder buffers a response.
type recorder struct {
	header      http.Header
	Code        int
	Body        bytes.Buffer
	wroteHeader bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.Code, r.wroteHeader = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.Body.Write(b)
}
