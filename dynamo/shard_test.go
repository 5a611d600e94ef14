package dynamo_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/lawckettest"
)

const shardedSpec = `table: Connections
ttl: 2h
fields:
  room:
    expr: query.room
    required: true
    index: true
    shards: 8
  level:
    expr: int(query.level ?? "7")
    index: true
    shards: 4
  team:
    expr: query.team
    index: true
`

// TestShardedRoom: against dynalite, the rows of a sharded room spread
// over its 8 shards, keep their plain value, and are written by one
// PutItem each; the Selector of the room reads every row exactly once,
// and the 8 per-shard Selectors partition the room.
func TestShardedRoom(t *testing.T) {
	e := newEnv(t, shardedSpec)
	ctx := context.Background()
	p, err := dynamo.NewPlugin(ctx, e.spec, dynamo.WithClient(e.client), dynamo.WithPageSize(7), fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	putRows(t, p, "lobby", "lobby", n)
	putRows(t, p, "attic", "attic", 30)
	if got := e.counter.Count("PutItem"); got != n+30 {
		t.Errorf("%d PutItem for %d connects, want one each", got, n+30)
	}
	tbl := p.Table()
	if tbl.Shards("room") != 8 || tbl.Shards("level") != 4 || tbl.Shards("team") != 0 || tbl.Shards("nope") != 0 {
		t.Errorf("Shards: room %d, level %d, team %d", tbl.Shards("room"), tbl.Shards("level"), tbl.Shards("team"))
	}

	// The rows: the plain value, and the key of the row's shard.
	perShard := map[int]int{}
	for _, item := range e.items(t) {
		id := item["connectionId"].(*types.AttributeValueMemberS).Value
		room := item["room"].(*types.AttributeValueMemberS).Value
		k := dynamo.ShardOf(id, 8)
		if want := room + "#" + strconv.Itoa(k); item["room#shard"].(*types.AttributeValueMemberS).Value != want {
			t.Errorf("%s: room#shard = %v, want %s", id, typed(item["room#shard"]), want)
		}
		if item["level"].(*types.AttributeValueMemberN).Value != "7" || item["level#shard"].(*types.AttributeValueMemberS).Value != "7#"+strconv.Itoa(dynamo.ShardOf(id, 4)) {
			t.Errorf("%s: level %v, level#shard %v", id, typed(item["level"]), typed(item["level#shard"]))
		}
		if _, ok := item["team#shard"]; ok {
			t.Errorf("%s: an unsharded field got a shard key", id)
		}
		if room == "lobby" {
			perShard[k]++
		}
	}
	if len(perShard) != 8 {
		t.Errorf("the lobby's %d rows are in %d shards, want all 8: %v", n, len(perShard), perShard)
	}
	for k, c := range perShard {
		if c < n/8/3 {
			t.Errorf("shard %d holds %d of %d rows: not spread", k, c, n)
		}
	}

	// All shards at once, every row exactly once.
	e.counter.Reset()
	ids := collect(t, tbl, dynamo.Selector{Field: "room", Value: "lobby"})
	exactlyOnce(t, ids, "lobby", n)
	if q := e.counter.Count("Query"); q < 8 {
		t.Errorf("%d Queries for 8 shards", q)
	}
	// Targets carries the same rows.
	var targets []string
	for tg, err := range tbl.Targets(ctx, dynamo.Selector{Field: "room", Value: "lobby"}) {
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg.ConnectionID)
	}
	exactlyOnce(t, targets, "lobby", n)

	// Per shard: a partition of the room.
	var union []string
	for k := range 8 {
		got := collect(t, tbl, dynamo.Selector{Field: "room", Value: "lobby", Shard: k, Shards: 8})
		if len(got) != perShard[k] {
			t.Errorf("shard %d: %d rows, want %d", k, len(got), perShard[k])
		}
		for _, id := range got {
			if dynamo.ShardOf(id, 8) != k {
				t.Errorf("shard %d read %s, of shard %d", k, id, dynamo.ShardOf(id, 8))
			}
		}
		union = append(union, got...)
	}
	exactlyOnce(t, union, "lobby", n)

	// A sharded number field: 7, 7.0 and 7e0 are one key.
	for _, v := range []string{"7", "7.0", "7e0", "0.7E1"} {
		exactlyOnce(t, collect(t, tbl, dynamo.Selector{Field: "level", Value: v}), "", n+30)
	}
	if ids := collect(t, tbl, dynamo.Selector{Field: "level", Value: "8"}); len(ids) != 0 {
		t.Errorf("level=8: %v", ids)
	}

	// Selectors that cannot be read.
	for _, tc := range []struct {
		sel  dynamo.Selector
		want string
	}{
		{dynamo.Selector{Field: "team", Value: "x", Shard: 0, Shards: 4}, "not sharded"},
		{dynamo.Selector{Field: "room", Value: "lobby", Shard: 8, Shards: 8}, "shard 8 of 8"},
		{dynamo.Selector{Field: "room", Value: "lobby", Shard: -1, Shards: 8}, "shard -1"},
		{dynamo.Selector{Field: "room", Value: "lobby", Shard: 0, Shards: 1}, "shard 0 of 1"},
		{dynamo.Selector{Field: "room", Value: "lobby", Shard: 0, Shards: 65}, "shards <= 64"},
		{dynamo.Selector{Field: "room", Value: "lobby", Shard: 2}, "without shards"},
		{dynamo.Selector{Shard: 0, Shards: 4}, "without a field"},
		{dynamo.Selector{Field: "level", Value: "1e200"}, "not a DynamoDB number"},
		{dynamo.Selector{Field: "room", Value: ""}, "empty value"},
	} {
		for _, err := range tbl.Connections(ctx, tc.sel) {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%+v: err = %v, want %q", tc.sel, err, tc.want)
			}
			break
		}
	}
}

// TestShardsGrow: rows written under fewer shards are still read, each
// once, after the spec raises shards (the key does not depend on S).
func TestShardsGrow(t *testing.T) {
	e := newEnv(t, strings.Replace(shardedSpec, "shards: 8", "shards: 2", 1))
	ctx := context.Background()
	old, err := dynamo.NewPlugin(ctx, e.spec, dynamo.WithClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, old, "old", "lobby", 40)
	grown, err := dynamo.NewPlugin(ctx, parseSpec(t, shardedSpec), dynamo.WithClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, grown, "new", "lobby", 40)
	ids := collect(t, grown.Table(), dynamo.Selector{Field: "room", Value: "lobby"})
	exactlyOnce(t, ids, "", 80)
}

func exactlyOnce(t *testing.T, ids []string, prefix string, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("%s read twice", id)
		}
		if !strings.HasPrefix(id, prefix) {
			t.Errorf("%s is not a %s row", id, prefix)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct rows, want %d", len(seen), n)
	}
}

func TestShardedTableDefinition(t *testing.T) {
	def := dynamo.TableDefinition(parseSpec(t, shardedSpec), "")
	var attrs, gsis []string
	for _, a := range def.AttributeDefinitions {
		attrs = append(attrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	for _, g := range def.GlobalSecondaryIndexes {
		gsis = append(gsis, aws.ToString(g.IndexName)+"("+aws.ToString(g.KeySchema[0].AttributeName)+")")
	}
	if want := []string{"connectionId:S", "room#shard:S", "level#shard:S", "team:S"}; !slices.Equal(attrs, want) {
		t.Errorf("attributes %v, want %v", attrs, want)
	}
	if want := []string{"room-shard-index(room#shard)", "level-shard-index(level#shard)", "team-index(team)"}; !slices.Equal(gsis, want) {
		t.Errorf("GSIs %v, want %v", gsis, want)
	}
}

func TestCanonicalNumber(t *testing.T) {
	for in, want := range map[string]string{
		"42": "42", "42.0": "42", "4.2e1": "42", "+42": "42", "042": "42", "-0.50": "-0.5", "0": "0", "-0": "0", "0.000": "0",
		"1E-3": "0.001", ".5": "0.5", "5.": "5", "1e125": "1" + strings.Repeat("0", 125), "123.456e2": "12345.6", "1e-130": "0." + strings.Repeat("0", 129) + "1",
	} {
		if got, err := dynamo.CanonicalNumber(in); err != nil || got != want {
			t.Errorf("CanonicalNumber(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-", ".", "e5", "1e", "1e+", "x", "1.2.3", "1e126", "1e-131", "1e99999", strings.Repeat("1", 39), "0x10", "1_000", " 1"} {
		if got, err := dynamo.CanonicalNumber(in); err == nil {
			t.Errorf("CanonicalNumber(%q) = %q, want an error", in, got)
		}
	}
}

func TestShardKeyRefusals(t *testing.T) {
	if _, err := dynamo.ShardKey(&types.AttributeValueMemberBOOL{Value: true}, 0); err == nil {
		t.Error("a bool got a shard key")
	}
	if _, err := dynamo.ShardKey(&types.AttributeValueMemberS{}, 0); err == nil {
		t.Error("an empty string got a shard key")
	}
}

// FuzzCanonicalNumber: CanonicalNumber never panics, is idempotent, gives
// plain decimal text, and keeps the number's value.
func FuzzCanonicalNumber(f *testing.F) {
	for _, s := range []string{"42", "-0.50", "4.2e1", "1e-130", "9.9e125", "", "e", ".", "+.5e-3", "00012300.0001000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := dynamo.CanonicalNumber(s)
		if err != nil {
			return
		}
		again, err := dynamo.CanonicalNumber(c)
		if err != nil || again != c {
			t.Fatalf("CanonicalNumber(%q) = %q, then %q, %v", s, c, again, err)
		}
		if strings.ContainsAny(c, "eE+") || strings.HasSuffix(c, ".") || (strings.Contains(c, ".") && strings.HasSuffix(c, "0")) {
			t.Fatalf("CanonicalNumber(%q) = %q: not plain decimal", s, c)
		}
		a, errA := strconv.ParseFloat(s, 64)
		b, errB := strconv.ParseFloat(c, 64)
		if errA == nil && errB == nil && a != b {
			t.Fatalf("CanonicalNumber(%q) = %q: %v != %v", s, c, a, b)
		}
	})
}

// FuzzBuildItemSharded: whatever a client sends, the row of a sharded
// spec either is refused with 400 or carries, for each sharded value, the
// key of its connection's shard.
func FuzzBuildItemSharded(f *testing.F) {
	spec := parseSpec(f, `table: Connections
fields:
  room:
    expr: query.room
    index: true
    shards: 8
  level:
    expr: float(query.level)
    index: true
    shards: 4
`)
	f.Add("lobby", "7", "c1=")
	f.Add("", "1e200", "")
	f.Add("a#1", "-0.000", "x")
	f.Fuzz(func(t *testing.T, room, level, id string) {
		req := lawckettest.Connect(lawckettest.Query("room", room), lawckettest.Query("level", level), lawckettest.ConnectionID(id))
		item, err := dynamo.BuildItem(spec, &req, t0)
		if err != nil {
			var rej *lawcket.Rejection
			if id != "" && (!errors.As(err, &rej) || rej.Status != 400) {
				t.Fatalf("BuildItem: %v", err)
			}
			return
		}
		if r, ok := item["room"].(*types.AttributeValueMemberS); ok {
			if want := r.Value + "#" + strconv.Itoa(dynamo.ShardOf(id, 8)); item["room#shard"].(*types.AttributeValueMemberS).Value != want {
				t.Fatalf("room#shard %v, want %s", typed(item["room#shard"]), want)
			}
		} else if _, ok := item["room#shard"]; ok {
			t.Fatal("a shard key without its room")
		}
		if l, ok := item["level"].(*types.AttributeValueMemberN); ok {
			c, err := dynamo.CanonicalNumber(l.Value)
			if err != nil || item["level#shard"].(*types.AttributeValueMemberS).Value != c+"#"+strconv.Itoa(dynamo.ShardOf(id, 4)) {
				t.Fatalf("level %s: level#shard %v (%v)", l.Value, typed(item["level#shard"]), err)
			}
		}
	})
}
