package eval_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/eval"
)

func TestCompileShards(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []eval.Field
		key    string // the CompileError's Key; "" with want "" compiles
		want   string
	}{
		{"sharded", []eval.Field{{Name: "room", Expr: "query.room", Index: true, Shards: 8}}, "", ""},
		{"sharded number", []eval.Field{{Name: "level", Expr: "1", Index: true, Shards: eval.MaxShards, Type: eval.Number}}, "", ""},
		{"one", []eval.Field{{Name: "room", Expr: "query.room", Index: true, Shards: 1}}, "shards", "from 2 to 64"},
		{"negative", []eval.Field{{Name: "room", Expr: "query.room", Index: true, Shards: -2}}, "shards", "from 2 to 64"},
		{"too many", []eval.Field{{Name: "room", Expr: "query.room", Index: true, Shards: 65}}, "shards", "from 2 to 64"},
		{"not an index", []eval.Field{{Name: "room", Expr: "query.room", Shards: 4}}, "shards", "index: true fields only"},
		{"collision", []eval.Field{{Name: "room", Expr: "query.room", Index: true, Shards: 4}, {Name: "room#shard", Value: "x"}}, "", "shard key attribute"},
		{"collision unsharded is fine", []eval.Field{{Name: "room", Expr: "query.room", Index: true}, {Name: "room#shard", Value: "x"}}, "", ""},
		{"index name", []eval.Field{{Name: "a b", Expr: "query.room", Index: true}}, "index", "only letters"},
		{"long index", []eval.Field{{Name: strings.Repeat("r", 250), Expr: "query.room", Index: true}}, "index", "at most 249"},
		{"long sharded", []eval.Field{{Name: strings.Repeat("r", 244), Expr: "query.room", Index: true, Shards: 2}}, "shards", "at most 243"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eval.Compile(tc.fields, eval.Options{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				return
			}
			var ce *eval.CompileError
			if !errors.As(err, &ce) || ce.Key != tc.key || !strings.Contains(ce.Message, tc.want) {
				t.Fatalf("Compile = %v, want a CompileError on key %q saying %q", err, tc.key, tc.want)
			}
		})
	}
}

func TestCheckShards(t *testing.T) {
	for n, ok := range map[int]bool{0: true, 1: false, 2: true, 64: true, 65: false, -1: false} {
		if err := eval.CheckShards(n); (err == nil) != ok {
			t.Errorf("CheckShards(%d) = %v", n, err)
		}
	}
}

func ExampleShardAttr() {
	fmt.Println(eval.ShardAttr("room"))
	// Output: room#shard
}
