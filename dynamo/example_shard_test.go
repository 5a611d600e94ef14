package dynamo_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// The shard of a connection in a field with shards: 8, and the GSI key its
// row gets: FNV-1a 32 of the connection id, mod 8. In Python, for a check:
// h = 0x811c9dc5; for b in id.encode(): h = ((h ^ b) * 0x01000193) % 2**32.
func ExampleShardOf() {
	for _, id := range []string{"Jd3kPcH8oAMCE3g=", "Jd3kQd0coAMCJ0A=", "Jd3kRfLsIAMCKtA="} {
		k := dynamo.ShardOf(id, 8)
		key, _ := dynamo.ShardKey(&types.AttributeValueMemberS{Value: "lobby"}, k)
		fmt.Println(id, k, dynamo.ShardAttr("room")+"="+key)
	}
	// Output:
	// Jd3kPcH8oAMCE3g= 4 room#shard=lobby#4
	// Jd3kQd0coAMCJ0A= 1 room#shard=lobby#1
	// Jd3kRfLsIAMCKtA= 7 room#shard=lobby#7
}

// A number's key is its canonical decimal text, so that 42, 42.0 and
// 4.2e1 are one key.
func ExampleShardKey() {
	for _, n := range []string{"42", "42.0", "4.2e1"} {
		key, err := dynamo.ShardKey(&types.AttributeValueMemberN{Value: n}, 3)
		fmt.Println(key, err)
	}
	// Output:
	// 42#3 <nil>
	// 42#3 <nil>
	// 42#3 <nil>
}

// The row of a connect to a sharded room: room keeps its value, and
// room#shard is the key of the room's GSI, room-shard-index.
func ExampleBuildItem_sharded() {
	spec, err := syncspec.Parse("lawcket.yaml", []byte(`table: Connections
fields:
  room:
    expr: query.room
    required: true
    index: true
    shards: 8
`), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	req := lawckettest.Connect(lawckettest.Query("room", "lobby"))
	item, err := dynamo.BuildItem(spec, &req, time.Unix(1700000000, 0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("connectionId:", typed(item["connectionId"]))
	fmt.Println("room:", typed(item["room"]))
	fmt.Println("room#shard:", typed(item["room#shard"]))
	fmt.Println("gsi:", dynamo.ShardIndexName("room"))
	// Output:
	// connectionId: map[S:BQ1a2ecXDoECJQg=]
	// room: map[S:lobby]
	// room#shard: map[S:lobby#0]
	// gsi: room-shard-index
}

// A broadcast to a sharded room: the room's Selector reads every shard,
// one Query each; a Selector naming Shard of Shards reads one, which is
// what each job of fanout.Plan does.
func ExampleTable_Shards() {
	ctx := context.Background()
	spec, err := syncspec.Parse("lawcket.yaml", []byte("table: Connections\nfields:\n  room:\n    expr: query.room\n    index: true\n    shards: 4\n"), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		log.Fatal(err)
	}
	table, err := dynamo.NewTable(ctx, spec, dynamo.WithClient(newMemClient()))
	if err != nil {
		log.Fatal(err)
	}
	for _, id := range []string{"a=", "b=", "c=", "d=", "e=", "f="} {
		req := lawckettest.Connect(lawckettest.Query("room", "lobby"), lawckettest.ConnectionID(id))
		item, err := dynamo.BuildItem(spec, &req, time.Now())
		if err != nil {
			log.Fatal(err)
		}
		if err := table.Put(ctx, item); err != nil {
			log.Fatal(err)
		}
	}
	count := func(sel dynamo.Selector) (n int) {
		for _, err := range table.Targets(ctx, sel) {
			if err != nil {
				log.Fatal(err)
			}
			n++
		}
		return n
	}
	fmt.Println("shards:", table.Shards("room"))
	fmt.Println("lobby:", count(dynamo.Selector{Field: "room", Value: "lobby"}))
	for k := range table.Shards("room") {
		fmt.Printf("lobby shard %d: %d\n", k, count(dynamo.Selector{Field: "room", Value: "lobby", Shard: k, Shards: 4}))
	}
	// Output:
	// shards: 4
	// lobby: 6
	// lobby shard 0: 2
	// lobby shard 1: 1
	// lobby shard 2: 1
	// lobby shard 3: 2
}
