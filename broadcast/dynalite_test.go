package broadcast_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// liveTable starts dynalite, creates the spec's table and returns the
// lawcket table, the raw client and the request counter.
func liveTable(t testing.TB) (*dynamo.Table, *dynamodb.Client, *dynalitetest.Counter, *syncspec.Spec) {
	t.Helper()
	endpoint := dynalitetest.Start(t)
	spec, err := syncspec.Parse("lawcket.yaml", []byte(lawckettest.RoomSpec))
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	counter := &dynalitetest.Counter{}
	client := dynalitetest.Client(endpoint, dynalitetest.WithCounter(counter))
	dynalitetest.CreateTable(t, client, dynamo.TableDefinition(spec, spec.Table))
	table, err := dynamo.NewTable(context.Background(), spec, dynamo.WithClient(client))
	if err != nil {
		t.Fatalf("NewTable: %v", err)
	}
	return table, client, counter, spec
}

// stored is a row to insert: a connection of host in room, padded with pad
// bytes of user data (to make pages fill up), expiring at expires.
type stored struct {
	id, host, room string
	pad            int
	expires        time.Time
}

// dynaliteIndexSafe is dynalitetest.IndexSafe: ids whose dynalite GSI
// entries do not collide, so that counts stay exact.
func dynaliteIndexSafe(seen map[string]bool, id string) bool { return dynalitetest.IndexSafe(seen, id) }

// insert writes rows with BatchWriteItem (25 per call), resending
// UnprocessedItems, as the sync plugin would have written them.
func insert(t testing.TB, c *dynamodb.Client, tableName string, rows []stored) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	for len(rows) > 0 {
		n := min(25, len(rows))
		var reqs []types.WriteRequest
		for _, r := range rows[:n] {
			item := map[string]types.AttributeValue{
				"connectionId": &types.AttributeValueMemberS{Value: r.id},
				"domainName":   &types.AttributeValueMemberS{Value: r.host},
				"stage":        &types.AttributeValueMemberS{Value: "prod"},
				"connectedAt":  &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixMilli(), 10)},
				"expiresAt":    &types.AttributeValueMemberN{Value: strconv.FormatInt(r.expires.Unix(), 10)},
				"room":         &types.AttributeValueMemberS{Value: r.room},
				"user":         &types.AttributeValueMemberS{Value: "user-" + r.id},
			}
			if r.pad > 0 {
				item["pad"] = &types.AttributeValueMemberS{Value: strings.Repeat("p", r.pad)}
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		rows = rows[n:]
		pending := map[string][]types.WriteRequest{tableName: reqs}
		for len(pending) > 0 {
			out, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				t.Fatalf("BatchWriteItem: %v", err)
			}
			pending = out.UnprocessedItems
		}
	}
}

// storedIDs returns the ids of every row in the table (Scan, all pages).
func storedIDs(t testing.TB, c *dynamodb.Client, tableName string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(tableName), ProjectionExpression: aws.String("connectionId")})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		for _, item := range page.Items {
			ids[item["connectionId"].(*types.AttributeValueMemberS).Value] = true
		}
	}
	return ids
}

// TestSendDynalite broadcasts to a room selected through its GSI, over more
// than one page (1,200 rows of ~1 KB: a Query page stops at 1 MB), against
// dynalite and the local Management API.
func TestSendDynalite(t *testing.T) {
	table, client, counter, spec := liveTable(t)
	api := newMgmtAPI(t, 0)
	mc := newClient(t)

	later := time.Now().Add(time.Hour)
	var rows []stored
	live := map[string]bool{}
	gone := map[string]bool{}
	seen := map[string]bool{}
	for i := range 1200 {
		id := fmt.Sprintf("live-%04d", i)
		if i%10 == 3 {
			id = fmt.Sprintf("gone-%04d", i)
		}
		if !dynaliteIndexSafe(seen, id) {
			continue
		}
		if i%10 == 3 {
			gone[id] = true
		} else {
			live[id] = true
		}
		rows = append(rows, stored{id: id, host: api.host(), room: "r1", pad: 1000, expires: later})
	}
	rows = append(rows,
		stored{id: "sender", host: api.host(), room: "r1", expires: later},
		stored{id: "expired-1", host: api.host(), room: "r1", expires: time.Now().Add(-time.Hour)},
		stored{id: "other-1", host: api.host(), room: "r2", expires: later},
		stored{id: "gone-other", host: api.host(), room: "r2", expires: later},
	)
	insert(t, client, spec.Table, rows)

	sender, err := broadcast.New(mc, table)
	if err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	payload := `{"text":"to r1"}`
	rep, err := sender.Send(context.Background(), table.Targets(context.Background(), dynamo.Selector{Field: "room", Value: "r1"}), []byte(payload), broadcast.Exclude("sender"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	if n := counter.Count("Query"); n < 2 {
		t.Errorf("%d Query pages: the selection should span more than one", n)
	}
	if counter.Count("Scan") != 0 {
		t.Errorf("a GSI selection used Scan")
	}
	if rep.Sent != len(live) || rep.Gone != len(gone) || rep.Deleted != len(gone) || rep.Failed != 0 || rep.Retries != 0 || rep.Attempts != len(live)+len(gone) {
		t.Errorf("report = sent %d gone %d deleted %d failed %d retries %d, want %d %d %d 0 0 (failures %v)",
			rep.Sent, rep.Gone, rep.Deleted, rep.Failed, rep.Retries, len(live), len(gone), len(gone), rep.Failures)
	}
	// Each live connection of r1 got the payload exactly once; nobody else did.
	posted := map[string]int{}
	for _, p := range api.all() {
		posted[p.ID]++
		if p.Body != payload {
			t.Errorf("post to %s: body %q", p.ID, p.Body)
		}
	}
	for id := range live {
		if posted[id] != 1 {
			t.Errorf("%s got %d posts, want 1", id, posted[id])
		}
	}
	for id := range gone {
		if posted[id] != 1 {
			t.Errorf("%s got %d posts, want 1", id, posted[id])
		}
	}
	for _, id := range []string{"sender", "expired-1", "other-1", "gone-other"} {
		if posted[id] != 0 {
			t.Errorf("%s got %d posts, want 0", id, posted[id])
		}
	}
	if len(posted) != len(live)+len(gone) {
		t.Errorf("%d connections posted to, want %d", len(posted), len(live)+len(gone))
	}

	// Every gone row of r1 is deleted, and no other row.
	left := storedIDs(t, client, spec.Table)
	for id := range gone {
		if left[id] {
			t.Errorf("gone row %s is still stored", id)
		}
	}
	for _, id := range append([]string{"sender", "expired-1", "other-1", "gone-other"}, keys(live)...) {
		if !left[id] {
			t.Errorf("row %s was deleted", id)
		}
	}
	if len(left) != len(rows)-len(gone) {
		t.Errorf("%d rows left, want %d", len(left), len(rows)-len(gone))
	}

	// --all reaches r2 too (Scan), and finds r1's gone rows no more.
	rep, err = sender.Send(context.Background(), table.Targets(context.Background(), dynamo.Selector{}), []byte("all"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != len(live)+2 || rep.Gone != 1 || rep.Deleted != 1 { // live + sender + other-1; gone-other
		t.Errorf("all: %+v", rep)
	}
	if counter.Count("Scan") == 0 {
		t.Error("the zero Selector did not Scan")
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
