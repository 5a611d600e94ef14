package dynamo

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/eval"
)

// ShardOf is the shard of a connection in an index field with shards
// shards: FNV-1a (32 bits) of the connection id's bytes, mod shards. It is
// 0 when shards is 1 or less. Every tool computes it this way; a row
// written by other code must use it too.
func ShardOf(connectionID string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(connectionID))
	return int(h.Sum32() % uint32(shards))
}

// ShardAttr is the attribute holding a sharded field's GSI key:
// eval.ShardAttr, the field name followed by "#shard" (room#shard).
func ShardAttr(field string) string { return eval.ShardAttr(field) }

// ShardIndexName is the name of a sharded field's GSI, keyed on
// ShardAttr(field): the field name followed by "-shard-index" (room →
// room-shard-index). It differs from IndexName because the key does:
// switching a field between sharded and unsharded is a new GSI.
func ShardIndexName(field string) string { return field + "-shard-index" }

// ShardKey is the GSI key of a row whose sharded field has value v, in
// shard: the string itself, or for a number its canonical decimal text
// (see CanonicalNumber, so that 42, 42.0 and 4.2e1 are one key), then "#"
// and the shard in decimal (lobby#5, 42#0). Other kinds are an error.
func ShardKey(v types.AttributeValue, shard int) (string, error) {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		if x.Value == "" {
			return "", errors.New("dynamo: shard key of an empty string (an index key cannot be empty)")
		}
		return x.Value + "#" + strconv.Itoa(shard), nil
	case *types.AttributeValueMemberN:
		n, err := CanonicalNumber(x.Value)
		if err != nil {
			return "", err
		}
		return n + "#" + strconv.Itoa(shard), nil
	}
	return "", fmt.Errorf("dynamo: shard key of a %s: want a string or a number", kindOf(v))
}

// maxDigits is DynamoDB's precision: 38 significant digits.
const maxDigits = 38

// CanonicalNumber writes a DynamoDB number's text (42, -0.50, 4.2e1,
// +1E-3) in plain decimal: no exponent, no plus sign, no leading zeros
// but the one before a point, no trailing zeros after it, no point
// without a fraction, and 0 for any zero (42, -0.5, 42, 0.001). Text that
// is not a number DynamoDB stores (more than 38 significant digits, a
// magnitude outside 1e-130 to 1e126) is an error.
func CanonicalNumber(s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("dynamo: %q is not a DynamoDB number: %s", s, why)
	}
	t := s
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	exp := 0
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		e, err := strconv.Atoi(t[i+1:])
		if err != nil || i+1 == len(t) || e > 1000 || e < -1000 {
			return bad("bad exponent")
		}
		exp, t = e, t[:i]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	if intPart == "" && frac == "" || strings.Trim(intPart+frac, "0123456789") != "" {
		return bad("want digits, a point, an exponent")
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= len(frac)
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	digits = trimmed
	if digits == "" {
		return "0", nil
	}
	if len(digits) > maxDigits {
		return bad("more than 38 significant digits")
	}
	if mag := len(digits) + exp - 1; mag > 125 || mag < -130 {
		return bad("out of range (1e-130 to 1e126)")
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch point := len(digits) + exp; {
	case exp >= 0:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", exp))
	case point > 0:
		b.WriteString(digits[:point])
		b.WriteByte('.')
		b.WriteString(digits[point:])
	default:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.WriteString(digits)
	}
	return b.String(), nil
}
