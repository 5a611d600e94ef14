package metrics_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/metrics"
)

// The CloudWatch Embedded Metric Format specification
// (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
// as a checker: the rules a line must satisfy for CloudWatch Logs to
// extract its metrics.
var units = map[string]bool{}

func init() {
	for _, u := range strings.Fields(`Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes
		Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second
		Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second
		Terabits/Second Count/Second None`) {
		units[u] = true
	}
}

func only(obj map[string]any, allowed ...string) error {
	for k := range obj {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("member %q is not in the specification (objects it defines must not have others)", k)
		}
	}
	return nil
}

// checkEMF returns the specification's violations in one log event.
func checkEMF(line []byte) error {
	if len(line) > 1<<20 {
		return fmt.Errorf("%d bytes: over the 1 MB of a log event", len(line))
	}
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return fmt.Errorf("the log event is not a JSON object: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON object")
	}
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		return fmt.Errorf("no _aws metadata object")
	}
	if err := only(aws, "Timestamp", "CloudWatchMetrics", "LogGroupName"); err != nil {
		return fmt.Errorf("_aws: %w", err)
	}
	ts, ok := aws["Timestamp"].(json.Number)
	if _, err := ts.Int64(); !ok || err != nil {
		return fmt.Errorf("_aws.Timestamp %v: want a number of epoch milliseconds", aws["Timestamp"])
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok {
		return fmt.Errorf("_aws.CloudWatchMetrics is not an array")
	}
	for i, d := range directives {
		dir, ok := d.(map[string]any)
		if !ok {
			return fmt.Errorf("directive %d is not an object", i)
		}
		if err := only(dir, "Namespace", "Dimensions", "Metrics"); err != nil {
			return fmt.Errorf("directive %d: %w", i, err)
		}
		if ns, ok := dir["Namespace"].(string); !ok || ns == "" || len(ns) > 1024 {
			return fmt.Errorf("directive %d: Namespace %v", i, dir["Namespace"])
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			return fmt.Errorf("directive %d: Dimensions is not an array", i)
		}
		for _, s := range sets {
			set, ok := s.([]any)
			if !ok || len(set) > 30 {
				return fmt.Errorf("directive %d: dimension set %v: want an array of at most 30 names", i, s)
			}
			for _, name := range set {
				n, ok := name.(string)
				if !ok {
					return fmt.Errorf("dimension %v is not a string", name)
				}
				if v, ok := root[n].(string); !ok || v == "" || len(v) > 1024 {
					return fmt.Errorf("dimension %s: the root member %v must be a string of 1 to 1024 characters", n, root[n])
				}
			}
		}
		defs, ok := dir["Metrics"].([]any)
		if !ok || len(defs) > 100 {
			return fmt.Errorf("directive %d: Metrics must be an array of at most 100", i)
		}
		for _, m := range defs {
			def, ok := m.(map[string]any)
			if !ok {
				return fmt.Errorf("metric definition %v is not an object", m)
			}
			if err := only(def, "Name", "Unit", "StorageResolution"); err != nil {
				return err
			}
			name, ok := def["Name"].(string)
			if !ok || name == "" || len(name) > 1024 {
				return fmt.Errorf("metric Name %v", def["Name"])
			}
			if u, present := def["Unit"]; present {
				if s, ok := u.(string); !ok || !units[s] {
					return fmt.Errorf("metric %s: unit %v is not a CloudWatch unit", name, u)
				}
			}
			switch v := root[name].(type) {
			case json.Number:
			case []any:
				if len(v) > 100 {
					return fmt.Errorf("metric %s: %d values, at most 100", name, len(v))
				}
				for _, x := range v {
					if _, ok := x.(json.Number); !ok {
						return fmt.Errorf("metric %s: value %v is not a number", name, x)
					}
				}
			default:
				return fmt.Errorf("metric %s: the root member %v must be a number", name, root[name])
			}
		}
	}
	return nil
}

func TestBroadcastLine(t *testing.T) {
	var buf bytes.Buffer
	e, err := metrics.New(&buf, "lawcket")
	if err != nil {
		t.Fatal(err)
	}
	rep := broadcast.Report{Sent: 7, Gone: 2, Failed: 1, Ambiguous: 1, Attempts: 12, Throttled: 2, Seconds: 1.5, AchievedRate: 8}
	if err := metrics.Broadcast(e, "Connections", "room", "room=lobby", rep); err != nil {
		t.Fatal(err)
	}
	if err := metrics.Broadcast(e, "Connections", "all", "all 3/8", rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if err := checkEMF([]byte(l)); err != nil {
			t.Errorf("not EMF: %v\n%s", err, l)
		}
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"Table": "Connections", "Selector": "room", "Part": "room=lobby", "Posts": 12.0, "Delivered": 7.0, "Gone": 2.0,
		"Throttled": 2.0, "Failed": 1.0, "Ambiguous": 1.0, "Duration": 1.5, "AchievedRate": 8.0} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	dir := got["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if dir["Namespace"] != "lawcket" || fmt.Sprint(dir["Dimensions"]) != "[[Selector Table]]" || len(dir["Metrics"].([]any)) != 8 {
		t.Errorf("directive %v", dir)
	}
}

func TestEmitRefuses(t *testing.T) {
	var buf bytes.Buffer
	e, err := metrics.New(&buf, "ns")
	if err != nil {
		t.Fatal(err)
	}
	many := make([]metrics.Metric, 101)
	for i := range many {
		many[i] = metrics.Metric{Name: fmt.Sprint("m", i), Unit: metrics.Count, Value: 1}
	}
	dims31 := map[string]string{}
	for i := range 31 {
		dims31[fmt.Sprint("d", i)] = "v"
	}
	for name, call := range map[string]func() error{
		"no metric":       func() error { return e.Emit(nil) },
		"101 metrics":     func() error { return e.Emit(nil, many...) },
		"31 dimensions":   func() error { return e.Emit(dims31, metrics.Metric{Name: "x", Value: 1}) },
		"empty name":      func() error { return e.Emit(nil, metrics.Metric{Name: "", Value: 1}) },
		"long name":       func() error { return e.Emit(nil, metrics.Metric{Name: strings.Repeat("x", 1025), Value: 1}) },
		"NaN":             func() error { return e.Emit(nil, metrics.Metric{Name: "x", Value: math.NaN()}) },
		"Inf":             func() error { return e.Emit(nil, metrics.Metric{Name: "x", Value: math.Inf(1)}) },
		"empty dimension": func() error { return e.Emit(map[string]string{"d": ""}, metrics.Metric{Name: "x", Value: 1}) },
		"name taken":      func() error { return e.Emit(map[string]string{"x": "v"}, metrics.Metric{Name: "x", Value: 1}) },
		"twice": func() error {
			return e.Emit(nil, metrics.Metric{Name: "x", Value: 1}, metrics.Metric{Name: "x", Value: 2})
		},
		"_aws": func() error { return e.Emit(nil, metrics.Metric{Name: "_aws", Value: 1}) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("refused lines were written: %s", buf.String())
	}
	if _, err := metrics.New(&buf, "a:b"); err == nil {
		t.Error("a namespace with ':' was accepted")
	}
	var off *metrics.Emitter
	if err := metrics.Broadcast(off, "T", "all", "", broadcast.Report{}); err != nil {
		t.Errorf("a nil Emitter: %v", err)
	}
	// The checker itself refuses what the specification does.
	for _, bad := range []string{`{}`, `{"_aws":{"Timestamp":"now","CloudWatchMetrics":[]}}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["d"]],"Metrics":[]}]}}`,
		`{"x":"s","_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[],"Metrics":[{"Name":"x"}]}]}}`,
		`{"x":1,"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[],"Metrics":[{"Name":"x","Unit":"Parsecs"}]}]}}`} {
		if checkEMF([]byte(bad)) == nil {
			t.Errorf("the checker accepted %s", bad)
		}
	}
}

func ExampleBroadcast() {
	var buf bytes.Buffer // a Lambda writes to os.Stdout
	e, _ := metrics.New(&buf, "lawcket")
	_ = metrics.Broadcast(e, "Connections", "room", "room=lobby", broadcast.Report{Sent: 3, Attempts: 3, Seconds: 0.5, AchievedRate: 6})
	var line map[string]any
	_ = json.Unmarshal(buf.Bytes(), &line)
	fmt.Println(line["Table"], line["Selector"], line["Part"], line["Delivered"], line["AchievedRate"])
	// Output:
	// Connections room room=lobby 3 6
}
