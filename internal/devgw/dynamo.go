package devgw

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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/syncspec"
	"github.com/truora/minidyn/server"
)

// dynamoServer is the embedded in-memory DynamoDB (minidyn) on loopback.
type dynamoServer struct {
	srv  *http.Server
	done chan struct{}
}

// startDynamo starts the embedded DynamoDB unless an endpoint is configured,
// then creates the spec's table.
func (g *Gateway) startDynamo(ctx context.Context) error {
	if g.cfg.DynamoDBEndpoint != "" {
		u, err := url.Parse(g.cfg.DynamoDBEndpoint)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("devgw: DynamoDB endpoint %q: want a URL like http://127.0.0.1:8000", g.cfg.DynamoDBEndpoint)
		}
		g.dynamoURL = strings.TrimRight(g.cfg.DynamoDBEndpoint, "/")
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("devgw: embedded DynamoDB: %w", err)
		}
		d := &dynamoServer{
			srv:  &http.Server{Handler: minidynAdapter{server.NewServer()}, ReadHeaderTimeout: 10 * time.Second},
			done: make(chan struct{}),
		}
		go func() {
			defer close(d.done)
			d.srv.Serve(ln)
		}()
		g.dynamo = d
		g.dynamoURL = "http://" + ln.Addr().String()
	}
	if g.cfg.SpecPath == "" {
		return nil
	}
	if err := g.createTable(ctx); err != nil {
		g.stopDynamo()
		return err
	}
	return nil
}

func (g *Gateway) stopDynamo() {
	if g.dynamo != nil {
		g.dynamo.srv.Close()
		<-g.dynamo.done
		g.dynamo = nil
	}
}

// DynamoDBClient returns a client for the gateway's DynamoDB endpoint (with
// the local static credentials when it is embedded or on loopback).
func (g *Gateway) DynamoDBClient(ctx context.Context) (*dynamodb.Client, error) {
	if g.localDynamo() {
		// No shared config: a stray AWS_PROFILE must not break local use.
		return dynamodb.New(dynamodb.Options{
			Region:       g.cfg.Region,
			Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
			BaseEndpoint: aws.String(g.dynamoURL),
		}), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(g.cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("devgw: AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(g.dynamoURL)
	}), nil
}

// localDynamo reports whether DynamoDB is embedded or on a loopback host,
// where the static "local" credentials are used.
func (g *Gateway) localDynamo() bool {
	if g.cfg.DynamoDBEndpoint == "" {
		return true
	}
	u, err := url.Parse(g.cfg.DynamoDBEndpoint)
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

// createTable creates the spec's table and GSIs (an existing table is kept).
func (g *Gateway) createTable(ctx context.Context) error {
	spec, err := syncspec.Load(g.cfg.SpecPath)
	if err != nil {
		return err // positioned FILE:LINE:COL by syncspec
	}
	def := dynamo.TableDefinition(spec, spec.Table)
	if def == nil || def.TableName == nil {
		return fmt.Errorf("devgw: %s: no table definition for table %q", g.cfg.SpecPath, spec.Table)
	}
	g.table = *def.TableName
	client, err := g.DynamoDBClient(ctx)
	if err != nil {
		return err
	}
	_, err = client.CreateTable(ctx, def)
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		g.log.Info("table exists; keeping it", "table", *def.TableName)
		return nil
	case err != nil:
		return fmt.Errorf("devgw: create table %s at %s: %w", *def.TableName, g.dynamoURL, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: def.TableName}, 30*time.Second); err != nil {
		return fmt.Errorf("devgw: table %s did not become active: %w", *def.TableName, err)
	}
	var gsis []string
	for _, x := range def.GlobalSecondaryIndexes {
		gsis = append(gsis, aws.ToString(x.IndexName))
	}
	g.log.Info("created table", "table", *def.TableName, "gsis", strings.Join(gsis, ","))
	return nil
}

// TableName is the table created from the spec, empty without one.
func (g *Gateway) TableName() string { return g.table }

// minidynAdapter fills two gaps of minidyn's HTTP server that the SDK
// notices: it sets the X-Amz-Crc32 header DynamoDB always sends (the SDK's
// checksum middleware otherwise logs a mismatch on every response), and
// reports TableStatus ACTIVE in CreateTable and DescribeTable (minidyn leaves
// it empty, so the SDK's TableExistsWaiter would never finish).
type minidynAdapter struct{ next http.Handler }

func (a minidynAdapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{header: http.Header{}, Code: http.StatusOK}
	a.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	target := r.Header.Get("X-Amz-Target")
	if rec.Code == http.StatusOK && (strings.HasSuffix(target, ".DescribeTable") || strings.HasSuffix(target, ".CreateTable")) {
		body = withActiveStatus(body)
	}
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(rec.Code)
	w.Write(body)
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

// startRows starts the goroutine that prints the table's rows to
// Config.RowsOutput (see noteRows), when asked for and there is a table.
func (g *Gateway) startRows(ctx context.Context) error {
	if g.cfg.RowsOutput == nil || g.table == "" {
		return nil
	}
	client, err := g.DynamoDBClient(ctx)
	if err != nil {
		return err
	}
	g.rowsCh = make(chan string, 256)
	g.rowsDone = make(chan struct{})
	go func() {
		defer close(g.rowsDone)
		for after := range g.rowsCh {
			g.printRows(client, after)
		}
	}()
	return nil
}

// noteRows asks for the rows to be printed after a connect or disconnect.
// It never blocks a connection: when the printer lags, the note is dropped.
func (g *Gateway) noteRows(after string) {
	if g.rowsCh == nil {
		return
	}
	g.rowsMu.Lock()
	defer g.rowsMu.Unlock()
	if g.rowsClosed {
		return
	}
	select {
	case g.rowsCh <- after:
	default:
	}
}

func (g *Gateway) stopRows() {
	if g.rowsCh == nil {
		return
	}
	g.rowsMu.Lock()
	g.rowsClosed = true
	close(g.rowsCh)
	g.rowsMu.Unlock()
	<-g.rowsDone
}

// printRows writes a header line, then one JSON object per row in
// connectionId order. Rows are read with Scan, page by page.
func (g *Gateway) printRows(client *dynamodb.Client, after string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type row struct{ id, json string }
	var rows []row
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(g.table)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			g.log.Warn("rows: scan failed", "table", g.table, "err", err)
			return
		}
		for _, item := range out.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(item, &m); err != nil {
				g.log.Warn("rows: cannot decode a row", "err", err)
				continue
			}
			b, err := json.Marshal(m)
			if err != nil {
				continue
			}
			id, _ := m["connectionId"].(string)
			rows = append(rows, row{id, string(b)})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	var b strings.Builder
	fmt.Fprintf(&b, "table %s after %s: %d rows\n", g.table, after, len(rows))
	for _, r := range rows {
		b.WriteString("  " + r.json + "\n")
	}
	io.WriteString(g.cfg.RowsOutput, b.String())
}
