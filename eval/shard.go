package eval

import (
	"fmt"
	"regexp"
)

// MaxShards is the most shards an index field may declare: a broadcast
// to one of its values reads that many GSI partitions (one Query each).
const MaxShards = 64

// shardSuffix ends the name of a sharded index field's key attribute.
const shardSuffix = "#shard"

// ShardAttr is the attribute that holds the GSI key of a sharded index
// field (shards: S): the field's name followed by "#shard" (room →
// room#shard). lawcket writes it itself, so no field may have that name
// while field is sharded.
func ShardAttr(field string) string { return field + shardSuffix }

// indexName matches what DynamoDB accepts in an index name; an index
// field's name is the start of its GSI's name (FIELD-index, or
// FIELD-shard-index when sharded).
var indexName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// The longest names of index fields: their GSI's name (at most 255 bytes)
// adds "-index" or "-shard-index".
const (
	maxIndexName   = MaxNameLen - len("-index")
	maxShardedName = MaxNameLen - len("-shard-index")
)

// checkIndex checks what an index field's name and shards must be.
func (c *compiler) checkIndex(f *Field) {
	if !f.Index {
		if f.Shards != 0 {
			c.fail(f, "shards", "shards applies to index: true fields only (it splits the field's GSI key)")
		}
		return
	}
	switch {
	case f.Shards != 0 && (f.Shards < 2 || f.Shards > MaxShards):
		c.fail(f, "shards", "shards must be a whole number from 2 to %d (leave it out for an unsharded index)", MaxShards)
	case f.Name == "" || len(f.Name) > MaxNameLen:
	case !indexName.MatchString(f.Name):
		c.fail(f, "index", "an index field's name names its GSI (%s-index), so it may hold only letters, digits, _, - and .", f.Name)
	case f.Shards == 0 && len(f.Name) > maxIndexName:
		c.fail(f, "index", "an index field's name names its GSI (NAME-index, at most 255 bytes), so it may be at most %d bytes (it is %d)", maxIndexName, len(f.Name))
	case f.Shards != 0 && len(f.Name) > maxShardedName:
		c.fail(f, "shards", "a sharded index field's name names its GSI (NAME-shard-index, at most 255 bytes), so it may be at most %d bytes (it is %d)", maxShardedName, len(f.Name))
	}
}

// checkShardAttrs refuses a field named like the shard key attribute of a
// sharded index field.
func (c *compiler) checkShardAttrs(fields []Field) {
	sharded := make(map[string]*Field)
	for i := range fields {
		if f := &fields[i]; f.Index && f.Shards > 0 {
			sharded[ShardAttr(f.Name)] = f
		}
	}
	if len(sharded) == 0 {
		return
	}
	for i := range fields {
		if owner, ok := sharded[fields[i].Name]; ok {
			c.fail(&fields[i], "", "%s is the shard key attribute lawcket writes for %s (shards: %d): rename this field", fields[i].Name, owner.Name, owner.Shards)
		}
	}
}

// CheckShards says why shards is not the shard count of an index field
// (nil when it is one, or 0 for unsharded). Selectors and jobs that name
// a shard check their count with it.
func CheckShards(shards int) error {
	if shards == 0 || (shards >= 2 && shards <= MaxShards) {
		return nil
	}
	return fmt.Errorf("eval: %d shards: want 2 to %d (0: unsharded)", shards, MaxShards)
}
