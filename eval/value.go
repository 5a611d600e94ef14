package eval

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// String returns the kind's name as written in lawcket.yaml ("string",
// "number", "bool", "list", "map"), or "any" for the zero Kind.
func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case List:
		return "list"
	case Map:
		return "map"
	case 0:
		return "any"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind is the inverse of Kind.String for the five value kinds. It
// reports false for anything else (including "any").
func ParseKind(s string) (Kind, bool) {
	for k := String; k <= Map; k++ {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

// DynamoDB numbers hold magnitudes from 1e-130 to just under 1e126.
const (
	maxNumber = 9.9999999999999999999999999999999999999e125
	minNumber = 1e-130
)

// normalize turns v into the plain Go value stored in a row — string, int,
// uint64 (only above math.MaxInt64), float64, bool, []any, map[string]any, or
// nil (only inside a list or map) — and reports its Kind. Lists and maps are
// always copied, so the result never aliases the evaluation environment or a
// program constant. Values DynamoDB cannot store are an error.
func normalize(v any) (any, Kind, error) { return normalizeAt(v, 0) }

// MaxDepth is how deeply DynamoDB nests lists and maps.
const MaxDepth = 32

// valueError is a value that cannot be stored, with the path to the
// element that is the problem (list indices and map keys).
type valueError struct {
	path []any
	msg  string
}

func (e *valueError) Error() string {
	if len(e.path) == 0 {
		return e.msg
	}
	return strings.TrimPrefix(FormatPath(e.path), ".") + ": " + e.msg
}

func valueErrorf(format string, args ...any) error {
	return &valueError{msg: fmt.Sprintf(format, args...)}
}

// inside prefixes the path of err (a *valueError from an element) with key.
func inside(key any, err error) error {
	ve, ok := err.(*valueError)
	if !ok {
		return err
	}
	return &valueError{path: append([]any{key}, ve.path...), msg: ve.msg}
}

func normalizeAt(v any, depth int) (any, Kind, error) {
	switch v.(type) {
	case []any, []string, map[string]any:
		if depth >= MaxDepth {
			return nil, 0, valueErrorf("lists and maps nest deeper than DynamoDB's %d levels", MaxDepth)
		}
	}
	// Scalars are returned as the interface value they came in: converting
	// x back to any would allocate a copy.
	switch x := v.(type) {
	case nil:
		return nil, 0, nil
	case string:
		return v, String, nil
	case bool:
		return v, Bool, nil
	case int:
		return v, Number, nil
	case float64:
		if _, _, err := checkFloat(x); err != nil {
			return nil, 0, err
		}
		return v, Number, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, _, err := normalizeAt(e, depth+1)
			if err != nil {
				return nil, 0, inside(i, err)
			}
			out[i] = n
		}
		return out, List, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, List, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, _, err := normalizeAt(e, depth+1)
			if err != nil {
				return nil, 0, inside(k, err)
			}
			out[k] = n
		}
		return out, Map, nil
	case time.Time:
		return nil, 0, valueErrorf("a time.Time cannot be stored in DynamoDB; use .Unix() or .Format(...)")
	}
	return normalizeReflect(reflect.ValueOf(v), depth)
}

func checkFloat(f float64) (any, Kind, error) {
	a := math.Abs(f)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return nil, 0, valueErrorf("%v cannot be stored in DynamoDB (numbers range from -1e126 to 1e126)", f)
	case a > maxNumber:
		return nil, 0, valueErrorf("%g cannot be stored in DynamoDB (numbers range from -1e126 to 1e126)", f)
	case a != 0 && a < minNumber:
		return nil, 0, valueErrorf("%g cannot be stored in DynamoDB (too small; the smallest magnitude is 1e-130)", f)
	}
	return f, Number, nil
}

func normalizeReflect(rv reflect.Value, depth int) (any, Kind, error) {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), Number, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return u, Number, nil
		}
		return int(u), Number, nil
	case reflect.Float32, reflect.Float64:
		return checkFloat(rv.Float())
	case reflect.String:
		return rv.String(), String, nil
	case reflect.Bool:
		return rv.Bool(), Bool, nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, 0, nil
		}
		if depth >= MaxDepth {
			return nil, 0, valueErrorf("lists and maps nest deeper than DynamoDB's %d levels", MaxDepth)
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, _, err := normalizeAt(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, 0, inside(i, err)
			}
			out[i] = n
		}
		return out, List, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, 0, valueErrorf("a map with %s keys cannot be stored in DynamoDB (keys must be strings)", rv.Type().Key())
		}
		if rv.IsNil() {
			return nil, 0, nil
		}
		if depth >= MaxDepth {
			return nil, 0, valueErrorf("lists and maps nest deeper than DynamoDB's %d levels", MaxDepth)
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := it.Key().String()
			n, _, err := normalizeAt(it.Value().Interface(), depth+1)
			if err != nil {
				return nil, 0, inside(k, err)
			}
			out[k] = n
		}
		return out, Map, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, 0, nil
		}
		return normalizeAt(rv.Elem().Interface(), depth)
	}
	return nil, 0, valueErrorf("a %s cannot be stored in DynamoDB", rv.Type())
}

// staticKind maps an expression's static result type to a Kind. known is
// false when the type is only known at run time (interface types). A type
// DynamoDB cannot store is an error.
func staticKind(t reflect.Type) (k Kind, known bool, err error) {
	if t == nil {
		return 0, false, nil
	}
	switch t.Kind() {
	case reflect.Interface:
		return 0, false, nil
	case reflect.String:
		return String, true, nil
	case reflect.Bool:
		return Bool, true, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return Number, true, nil
	case reflect.Slice, reflect.Array:
		return List, true, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return 0, false, fmt.Errorf("the expression gives a %s, which DynamoDB cannot store (map keys must be strings)", t)
		}
		return Map, true, nil
	case reflect.Pointer:
		return 0, false, nil
	}
	msg := fmt.Sprintf("the expression gives a %s, which DynamoDB cannot store", t)
	if t == reflect.TypeOf(time.Time{}) {
		msg += "; use .Unix() for epoch seconds or .Format(...) for a string"
	}
	return 0, false, fmt.Errorf("%s", strings.TrimSpace(msg))
}

// valueSize is about the bytes DynamoDB counts for a normalized value: a
// string's length, 21 for a number, 1 for a bool or null, and for lists
// and maps 3 plus their elements (and keys).
func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case bool, nil:
		return 1
	case []any:
		n := 3
		for _, e := range x {
			n += 1 + valueSize(e)
		}
		return n
	case map[string]any:
		n := 3
		for k, e := range x {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 21
}
