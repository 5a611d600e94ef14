package devgw

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

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
