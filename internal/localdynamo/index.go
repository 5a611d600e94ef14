package localdynamo

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The embedded store (minidyn) answers a Query by evaluating the key
// condition on every row of the table, so a GSI Query costs time that grows
// with the table (5,000 chat clients: most message invocations past the
// 29 s integration timeout). indexer keeps, beside it, a copy of every item
// and a hash index per GSI, maintained on every write, and answers the
// Query shape lawcket and most handlers send — equality on a GSI's
// partition key, optionally with Limit, ExclusiveStartKey, Select COUNT and
// ScanIndexForward — from the index, in time proportional to the rows it
// returns. Any other Query (a filter, a projection expression, a key
// condition on a sort key, a table's own key) goes to minidyn as before.
//
// Writes (PutItem, DeleteItem, UpdateItem, BatchWriteItem,
// TransactWriteItems) are applied by minidyn first; then each key they name
// is read back from minidyn (GetItem, consistent) and the copy and the
// index are updated from what is stored. Writes are serialized with the
// index update (one lock), so the index always reflects minidyn's state
// after the last write; indexed Queries share a read lock.

type indexer struct {
	mu     sync.RWMutex
	tables map[string]*tableState
}

type tableState struct {
	hash, rng string               // the table's key attribute names (rng may be "")
	items     map[string]rawItem   // canonical primary key → item as stored
	gsis      map[string]*gsiState // by index name
}

type gsiState struct {
	hash       string                     // partition key attribute (hash-only GSIs are indexed)
	rng        string                     // sort key attribute; such a GSI is not answered here
	projection string                     // ALL, KEYS_ONLY or INCLUDE
	include    []string                   // INCLUDE's NonKeyAttributes
	members    map[string]map[string]bool // canonical partition key value → set of primary keys
}

// rawItem is an item in DynamoDB's JSON wire form, attribute by attribute.
type rawItem map[string]json.RawMessage

func newIndexer() *indexer { return &indexer{tables: map[string]*tableState{}} }

// canon is a canonical form of an attribute value (map keys sorted, no
// spaces), so that equal values from different writers compare equal.
func canon(v json.RawMessage) string {
	var x any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if dec.Decode(&x) != nil {
		return string(v)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return string(v)
	}
	return string(b)
}

// primaryKey is the canonical primary key of item (nil when it lacks one).
func (t *tableState) primaryKey(item rawItem) (string, rawItem, bool) {
	h, ok := item[t.hash]
	if !ok {
		return "", nil, false
	}
	key := rawItem{t.hash: h}
	k := canon(h)
	if t.rng != "" {
		r, ok := item[t.rng]
		if !ok {
			return "", nil, false
		}
		key[t.rng] = r
		k += "\x00" + canon(r)
	}
	return k, key, true
}

// createTableInput is the part of CreateTable the indexer reads.
type createTableInput struct {
	TableName string
	KeySchema []struct {
		AttributeName string
		KeyType       string
	}
	GlobalSecondaryIndexes []struct {
		IndexName string
		KeySchema []struct {
			AttributeName string
			KeyType       string
		}
		Projection struct {
			ProjectionType   string
			NonKeyAttributes []string
		}
	}
}

// created registers a table minidyn has just created.
func (ix *indexer) created(body []byte) {
	var in createTableInput
	if json.Unmarshal(body, &in) != nil || in.TableName == "" {
		return
	}
	t := &tableState{items: map[string]rawItem{}, gsis: map[string]*gsiState{}}
	for _, k := range in.KeySchema {
		if k.KeyType == "HASH" {
			t.hash = k.AttributeName
		} else {
			t.rng = k.AttributeName
		}
	}
	if t.hash == "" {
		return
	}
	for _, g := range in.GlobalSecondaryIndexes {
		s := &gsiState{projection: g.Projection.ProjectionType, include: g.Projection.NonKeyAttributes,
			members: map[string]map[string]bool{}}
		if s.projection == "" {
			s.projection = "ALL"
		}
		for _, k := range g.KeySchema {
			if k.KeyType == "HASH" {
				s.hash = k.AttributeName
			} else {
				s.rng = k.AttributeName
			}
		}
		if s.hash != "" {
			t.gsis[g.IndexName] = s
		}
	}
	ix.mu.Lock()
	ix.tables[in.TableName] = t
	ix.mu.Unlock()
}

// forget drops a table (deleted, or changed by UpdateTable: its Queries go
// to minidyn from then on).
func (ix *indexer) forget(body []byte) {
	var in struct{ TableName string }
	if json.Unmarshal(body, &in) != nil {
		return
	}
	ix.mu.Lock()
	delete(ix.tables, in.TableName)
	ix.mu.Unlock()
}

// tableKey is one key a write names.
type tableKey struct {
	table string
	item  rawItem // the key attributes, or a whole item (its key is taken)
}

// writtenKeys lists the keys a write request names.
func writtenKeys(op string, body []byte) []tableKey {
	type one struct {
		TableName string
		Item, Key rawItem
	}
	var keys []tableKey
	add := func(o one) {
		switch {
		case o.Key != nil:
			keys = append(keys, tableKey{o.TableName, o.Key})
		case o.Item != nil:
			keys = append(keys, tableKey{o.TableName, o.Item})
		}
	}
	switch op {
	case "PutItem", "DeleteItem", "UpdateItem":
		var o one
		if json.Unmarshal(body, &o) == nil {
			add(o)
		}
	case "BatchWriteItem":
		var in struct {
			RequestItems map[string][]struct {
				PutRequest    *struct{ Item rawItem }
				DeleteRequest *struct{ Key rawItem }
			}
		}
		if json.Unmarshal(body, &in) == nil {
			for table, reqs := range in.RequestItems {
				for _, r := range reqs {
					if r.PutRequest != nil {
						add(one{TableName: table, Item: r.PutRequest.Item})
					}
					if r.DeleteRequest != nil {
						add(one{TableName: table, Key: r.DeleteRequest.Key})
					}
				}
			}
		}
	case "TransactWriteItems":
		var in struct {
			TransactItems []struct{ Put, Update, Delete *one }
		}
		if json.Unmarshal(body, &in) == nil {
			for _, ti := range in.TransactItems {
				for _, o := range []*one{ti.Put, ti.Update, ti.Delete} {
					if o != nil {
						add(*o)
					}
				}
			}
		}
	}
	return keys
}

// refresh sets the copy of one item to what minidyn stores now (item nil:
// there is none), and its GSI memberships (moved from the ones of the copy
// it replaces). The caller holds ix.mu.
func (t *tableState) refresh(pk string, item rawItem) {
	old := t.items[pk]
	if item == nil {
		delete(t.items, pk)
	} else {
		t.items[pk] = item
	}
	for _, g := range t.gsis {
		was, val := g.value(old), g.value(item)
		if was == val {
			continue
		}
		if s := g.members[was]; s != nil {
			delete(s, pk)
			if len(s) == 0 {
				delete(g.members, was)
			}
		}
		if val != "" {
			s := g.members[val]
			if s == nil {
				s = map[string]bool{}
				g.members[val] = s
			}
			s[pk] = true
		}
	}
}

// value is the canonical partition key value under which item is in the
// index, "" when it is not (nil, or without the index's key attributes).
func (g *gsiState) value(item rawItem) string {
	if v, ok := item[g.hash]; ok && (g.rng == "" || item[g.rng] != nil) {
		return canon(v)
	}
	return ""
}

// queryInput is the part of a Query the indexer reads.
type queryInput struct {
	TableName                 string
	IndexName                 string
	KeyConditionExpression    string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues rawItem
	ExclusiveStartKey         rawItem
	Limit                     *int
	Select                    string
	ScanIndexForward          *bool
	ConsistentRead            bool

	// Anything below makes the Query go to minidyn.
	FilterExpression     string
	ProjectionExpression string
	AttributesToGet      []string
	KeyConditions        json.RawMessage
	QueryFilter          json.RawMessage
}

var equalityRE = regexp.MustCompile(`^\s*\(?\s*(#?[A-Za-z0-9_.\-]+)\s*=\s*(:[A-Za-z0-9_]+)\s*\)?\s*$`)

// query answers an indexed Query; ok is false when it must go to minidyn.
func (ix *indexer) query(body []byte) (out []byte, ok bool) {
	var in queryInput
	if json.Unmarshal(body, &in) != nil || in.IndexName == "" || in.ConsistentRead ||
		in.FilterExpression != "" || in.ProjectionExpression != "" || in.AttributesToGet != nil ||
		in.KeyConditions != nil || in.QueryFilter != nil {
		return nil, false
	}
	switch in.Select {
	case "", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "COUNT":
	default:
		return nil, false
	}
	m := equalityRE.FindStringSubmatch(in.KeyConditionExpression)
	if m == nil {
		return nil, false
	}
	name := m[1]
	if strings.HasPrefix(name, "#") {
		if name = in.ExpressionAttributeNames[name]; name == "" {
			return nil, false
		}
	}
	value, found := in.ExpressionAttributeValues[m[2]]
	if !found || (in.Limit != nil && *in.Limit <= 0) {
		return nil, false
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	t := ix.tables[in.TableName]
	if t == nil {
		return nil, false
	}
	g := t.gsis[in.IndexName]
	if g == nil || g.rng != "" || g.hash != name {
		return nil, false
	}
	if in.Select == "ALL_ATTRIBUTES" && g.projection != "ALL" {
		return nil, false // a ValidationException, which minidyn gives
	}
	var pks []string
	if s := g.members[canon(value)]; s != nil {
		pks = make([]string, 0, len(s))
		for pk := range s {
			pks = append(pks, pk)
		}
	}
	sort.Strings(pks) // the index's order: by primary key
	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	if in.ExclusiveStartKey != nil {
		start, _, ok := t.primaryKey(in.ExclusiveStartKey)
		if !ok {
			return nil, false
		}
		if forward {
			pks = pks[sort.Search(len(pks), func(i int) bool { return pks[i] > start }):]
		} else {
			pks = pks[:sort.Search(len(pks), func(i int) bool { return pks[i] >= start })]
		}
	}
	if !forward {
		slices.Reverse(pks)
	}
	var last rawItem
	if in.Limit != nil && len(pks) > *in.Limit {
		pks = pks[:*in.Limit]
		_, lk, _ := t.primaryKey(t.items[pks[len(pks)-1]])
		last = rawItem{g.hash: value}
		for k, v := range lk {
			last[k] = v
		}
	}
	resp := struct {
		Count            int       `json:"Count"`
		ScannedCount     int       `json:"ScannedCount"`
		Items            []rawItem `json:"Items,omitempty"`
		LastEvaluatedKey rawItem   `json:"LastEvaluatedKey,omitempty"`
	}{Count: len(pks), ScannedCount: len(pks), LastEvaluatedKey: last}
	if in.Select != "COUNT" {
		resp.Items = make([]rawItem, 0, len(pks))
		for _, pk := range pks {
			resp.Items = append(resp.Items, g.project(t, t.items[pk]))
		}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, false
	}
	if in.Select != "COUNT" && len(pks) == 0 {
		b = []byte(`{"Count":0,"Items":[],"ScannedCount":0}`)
	}
	return b, true
}

// project is item as the index projects it.
func (g *gsiState) project(t *tableState, item rawItem) rawItem {
	if g.projection == "ALL" {
		return item
	}
	out := rawItem{}
	for _, k := range []string{t.hash, t.rng, g.hash, g.rng} {
		if v, ok := item[k]; ok && k != "" {
			out[k] = v
		}
	}
	if g.projection == "INCLUDE" {
		for _, k := range g.include {
			if v, ok := item[k]; ok {
				out[k] = v
			}
		}
	}
	return out
}

// getItem reads one item from minidyn (consistently): nil when there is
// none, ok false when the read failed.
func getItem(next http.Handler, table string, key rawItem) (rawItem, bool) {
	body, _ := json.Marshal(struct {
		TableName      string
		Key            rawItem
		ConsistentRead bool
	}{table, key, true})
	req, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := &recorder{header: http.Header{}, Code: http.StatusOK}
	next.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, false
	}
	var out struct{ Item rawItem }
	if json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		return nil, false
	}
	return out.Item, true
}

// afterWrite updates the copies of the items a successful write named.
// The caller holds ix.mu.
func (ix *indexer) afterWrite(next http.Handler, op string, body []byte) {
	for _, k := range writtenKeys(op, body) {
		t := ix.tables[k.table]
		if t == nil {
			continue
		}
		pk, key, ok := t.primaryKey(k.item)
		if !ok {
			continue
		}
		item, ok := getItem(next, k.table, key)
		if !ok {
			// Cannot tell what is stored: stop answering this table.
			delete(ix.tables, k.table)
			continue
		}
		t.refresh(pk, item)
	}
}
