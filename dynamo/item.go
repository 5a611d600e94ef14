package dynamo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/syncspec"
)

// The reserved attributes every row has. They are set after the spec's fields,
// so no field (and no query string or header) can overwrite them.
const (
	AttrConnectionID = "connectionId" // S, the table's partition key
	AttrDomainName   = "domainName"   // S, requestContext.domainName
	AttrStage        = "stage"        // S, requestContext.stage
	AttrConnectedAt  = "connectedAt"  // N, epoch milliseconds (requestContext.connectedAt)
	AttrExpiresAt    = "expiresAt"    // N, epoch seconds (connect time + ttl); only when the spec has a ttl
)

// MaxItemSize is DynamoDB's item size limit in bytes (400 KB). BuildItem
// refuses larger items, measured by ItemSize.
const MaxItemSize = 400 * 1024

// BuildItem is the row a connect event writes at time now: the spec's
// evaluated fields (marshalled with attributevalue), then the reserved
// attributes connectionId, domainName, stage, connectedAt (epoch ms from
// requestContext.connectedAt, or now when the event has none) and, when the
// spec has a ttl, expiresAt (epoch seconds, now+ttl). A sharded index field
// (shards: S) also gets its GSI key, ShardAttr(field) = ShardKey(value,
// ShardOf(connectionId, S)), next to its plain value.
//
// A connection the spec refuses (a required field missing, a value of the
// wrong type, an index value of the wrong key type, an item over
// MaxItemSize) yields an error that is a *lawcket.Rejection with status 400
// whose reason names the field; errors.As also finds the *eval.Refusal, and
// errors.Is(err, ErrItemTooLarge) tells the size case. Other errors (nil
// spec, an event without connectionId) are plain errors.
//
// The Plugin and `lawcket eval` both build rows with this function.
func BuildItem(spec *syncspec.Spec, req *events.APIGatewayWebsocketProxyRequest, now time.Time) (map[string]types.AttributeValue, error) {
	b, err := newBuilder(spec)
	if err != nil {
		return nil, err
	}
	return b.build(req, now)
}

// encoder is attributevalue's default encoder, built once: an Encoder holds
// only its options and is safe for concurrent use.
var encoder = attributevalue.NewEncoder()

// builder holds what BuildItem derives from a spec, computed once per Plugin.
type builder struct {
	program *eval.Program
	ttl     time.Duration
	keys    []indexKey
}

// indexKey is an index: true field, the DynamoDB type of its values and
// its shards (0: unsharded).
type indexKey struct {
	field  string
	typ    types.ScalarAttributeType
	shards int
}

// gsi is the name of the key's GSI.
func (k indexKey) gsi() string {
	if k.shards > 0 {
		return ShardIndexName(k.field)
	}
	return IndexName(k.field)
}

// attr is the attribute the key's GSI is keyed on, and its type.
func (k indexKey) attr() (string, types.ScalarAttributeType) {
	if k.shards > 0 {
		return ShardAttr(k.field), types.ScalarAttributeTypeS
	}
	return k.field, k.typ
}

func newBuilder(spec *syncspec.Spec) (*builder, error) {
	if spec == nil {
		return nil, errors.New("dynamo: nil spec")
	}
	if spec.Program == nil {
		return nil, fmt.Errorf("dynamo: spec %s has no compiled program (load it with syncspec.Load or syncspec.Parse)", specName(spec))
	}
	if spec.TTL < 0 {
		return nil, fmt.Errorf("dynamo: spec %s: negative ttl %s", specName(spec), spec.TTL)
	}
	return &builder{program: spec.Program, ttl: spec.TTL, keys: indexKeys(spec)}, nil
}

func specName(spec *syncspec.Spec) string {
	if spec.File != "" {
		return spec.File
	}
	return "(unnamed)"
}

func indexKeys(spec *syncspec.Spec) []indexKey {
	var keys []indexKey
	for _, f := range spec.Fields {
		if f.Index {
			keys = append(keys, indexKey{field: f.Name, typ: keyType(f.Type), shards: f.Shards})
		}
	}
	return keys
}

// keyType is the GSI key type of a field: N for number fields, else S.
func keyType(k eval.Kind) types.ScalarAttributeType {
	if k == eval.Number {
		return types.ScalarAttributeTypeN
	}
	return types.ScalarAttributeTypeS
}

func (b *builder) build(req *events.APIGatewayWebsocketProxyRequest, now time.Time) (map[string]types.AttributeValue, error) {
	if req == nil {
		return nil, errors.New("dynamo: nil event")
	}
	rc := &req.RequestContext
	if rc.ConnectionID == "" {
		return nil, errors.New("dynamo: event has no requestContext.connectionId")
	}
	values, err := b.program.Evaluate(req)
	if err != nil {
		var ref *eval.Refusal
		if errors.As(err, &ref) {
			return nil, refuse(ref)
		}
		return nil, fmt.Errorf("dynamo: evaluate fields: %w", err)
	}
	item := make(map[string]types.AttributeValue, len(values)+5)
	for name, v := range values {
		av, err := encoder.Encode(v)
		if err != nil {
			return nil, refuse(&eval.Refusal{Field: name, Reason: "cannot store value: " + err.Error()})
		}
		item[name] = av
	}
	for _, k := range b.keys {
		av, ok := item[k.field]
		if !ok {
			continue
		}
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			if k.typ != types.ScalarAttributeTypeS {
				return nil, refuse(&eval.Refusal{Field: k.field, Reason: fmt.Sprintf("index key must be a number, got string %q", v.Value)})
			}
			if v.Value == "" {
				// DynamoDB refuses empty GSI keys; the row is stored without it
				// and is simply absent from that index (a sparse index).
				delete(item, k.field)
			}
		case *types.AttributeValueMemberN:
			if k.typ != types.ScalarAttributeTypeN {
				return nil, refuse(&eval.Refusal{Field: k.field, Reason: "index key must be a string, got number " + v.Value + " (declare the field type: number, or produce a string)"})
			}
		default:
			return nil, refuse(&eval.Refusal{Field: k.field, Reason: fmt.Sprintf("index key must be a %s, got %s", typeWord(k.typ), kindOf(av))})
		}
		if av, ok := item[k.field]; ok && k.shards > 0 {
			key, err := ShardKey(av, ShardOf(rc.ConnectionID, k.shards))
			if err != nil {
				return nil, refuse(&eval.Refusal{Field: k.field, Reason: "cannot shard the index key: " + err.Error(), Err: err})
			}
			item[ShardAttr(k.field)] = &types.AttributeValueMemberS{Value: key}
		}
	}
	connectedAt := rc.ConnectedAt
	if connectedAt == 0 {
		connectedAt = now.UnixMilli()
	}
	item[AttrConnectionID] = &types.AttributeValueMemberS{Value: rc.ConnectionID}
	setString(item, AttrDomainName, rc.DomainName)
	setString(item, AttrStage, rc.Stage)
	item[AttrConnectedAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(connectedAt, 10)}
	if b.ttl > 0 {
		item[AttrExpiresAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(b.ttl).Unix(), 10)}
	} else {
		delete(item, AttrExpiresAt)
	}
	if size := ItemSize(item); size > MaxItemSize {
		field, fsize := largest(item)
		return nil, refuse(&eval.Refusal{
			Field:  field,
			Reason: fmt.Sprintf("item is %d bytes, over DynamoDB's %d-byte limit (this field takes %d bytes)", size, MaxItemSize, fsize),
		}, ErrItemTooLarge)
	}
	return item, nil
}

// setString sets a reserved string attribute, or removes it when the event
// has no value (DynamoDB keys refuse empty strings; these are not keys, but
// an absent attribute reads back the same as an empty one).
func setString(item map[string]types.AttributeValue, name, value string) {
	if value == "" {
		delete(item, name)
		return
	}
	item[name] = &types.AttributeValueMemberS{Value: value}
}

// refuse is the 400 *lawcket.Rejection for a connection the spec refuses.
// Its Reason names the field; its Err is the *eval.Refusal (joined with any
// sentinel such as ErrItemTooLarge), reachable with errors.As / errors.Is.
func refuse(r *eval.Refusal, sentinels ...error) error {
	var cause error = r
	if len(sentinels) > 0 {
		cause = errors.Join(append([]error{r}, sentinels...)...)
	}
	return &lawcket.Rejection{Status: 400, Reason: r.Error(), Err: cause}
}

func typeWord(t types.ScalarAttributeType) string {
	if t == types.ScalarAttributeTypeN {
		return "number"
	}
	return "string"
}

func kindOf(av types.AttributeValue) string {
	switch av.(type) {
	case *types.AttributeValueMemberS:
		return "string"
	case *types.AttributeValueMemberN:
		return "number"
	case *types.AttributeValueMemberBOOL:
		return "boolean"
	case *types.AttributeValueMemberNULL:
		return "null"
	case *types.AttributeValueMemberL:
		return "list"
	case *types.AttributeValueMemberM:
		return "map"
	case *types.AttributeValueMemberB:
		return "binary"
	case *types.AttributeValueMemberSS, *types.AttributeValueMemberNS, *types.AttributeValueMemberBS:
		return "set"
	}
	return "unknown"
}

// ItemSize is the size of item as DynamoDB counts it against MaxItemSize: for
// each attribute, the UTF-8 length of its name plus the size of its value
// (strings: UTF-8 bytes; numbers: 1 byte per two significant digits + 1;
// binary: raw bytes; booleans and null: 1; lists and maps: 3 + 1 per element
// + the elements, map keys included; sets: the sum of their members).
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, av := range item {
		n += len(name) + valueSize(av)
	}
	return n
}

func largest(item map[string]types.AttributeValue) (string, int) {
	var name string
	max := -1
	for k, av := range item {
		if s := len(k) + valueSize(av); s > max || (s == max && k < name) {
			name, max = k, s
		}
	}
	return name, max
}

func valueSize(av types.AttributeValue) int {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	}
	return 0
}

// numberSize: significant digits (leading and trailing zeros trimmed, sign,
// point and exponent ignored), one byte per two, plus one.
func numberSize(s string) int {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimLeft(s, "+-")
	s = strings.Replace(s, ".", "", 1)
	s = strings.Trim(s, "0")
	return (len(s)+1)/2 + 1
}
