package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units the package uses (CloudWatch accepts more).
const (
	Count          Unit = "Count"
	Seconds        Unit = "Seconds"
	Milliseconds   Unit = "Milliseconds"
	CountPerSecond Unit = "Count/Second"
	Bytes          Unit = "Bytes"
	None           Unit = "None"
)

// Limits of the Embedded Metric Format.
const (
	MaxMetrics    = 100 // metrics per directive
	MaxDimensions = 30  // dimensions per dimension set
	maxNameLen    = 1024
)

// Metric is one value to record.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Emitter writes CloudWatch Embedded Metric Format lines: one JSON object
// per line, which CloudWatch Logs turns into metrics of Namespace when the
// line is written to a log group (a Lambda's stdout is). A nil *Emitter
// emits nothing: metrics are off unless an Emitter is built. An Emitter is
// safe for concurrent use; each line is written with one Write.
type Emitter struct {
	w         io.Writer
	namespace string
	now       func() time.Time
	mu        sync.Mutex
}

// New returns an Emitter writing to w under namespace (for example
// "lawcket"; 1 to 1,024 characters, no ':').
func New(w io.Writer, namespace string) (*Emitter, error) {
	if w == nil {
		return nil, errors.New("metrics: nil writer")
	}
	if err := checkName("namespace", namespace); err != nil {
		return nil, err
	}
	if strings.Contains(namespace, ":") {
		return nil, fmt.Errorf("metrics: namespace %q: no ':' allowed", namespace)
	}
	return &Emitter{w: w, namespace: namespace, now: time.Now}, nil
}

func checkName(what, s string) error {
	if s == "" || utf8.RuneCountInString(s) > maxNameLen || !utf8.ValidString(s) {
		return fmt.Errorf("metrics: %s %q: want 1 to %d characters of UTF-8", what, s, maxNameLen)
	}
	return nil
}

// reserved names that a dimension or metric may not take.
const awsKey = "_aws"

// Emit writes one line recording metrics with dims as the one dimension
// set (every metric is then aggregated per those dimension values).
func (e *Emitter) Emit(dims map[string]string, metrics ...Metric) error {
	if e == nil {
		return nil
	}
	return e.EmitDirectives(dims, Directive{Dimensions: slices.Sorted(maps.Keys(dims)), Metrics: metrics})
}

// Directive is one group of metrics of a line and the dimensions they are
// aggregated by (names of the line's dimension values; none: the metrics
// of the namespace as a whole). CloudWatch keeps one metric per name and
// combination of dimension values, so a directive with few dimensions
// gives totals and one with more gives the breakdown.
type Directive struct {
	Dimensions []string
	Metrics    []Metric
}

// EmitDirectives writes one line holding the dimension values dims and
// each directive's metrics (names unique in the line), aggregated by the
// directive's dimensions (at most one dimension set each).
func (e *Emitter) EmitDirectives(dims map[string]string, directives ...Directive) error {
	if e == nil {
		return nil
	}
	if len(directives) == 0 {
		return errors.New("metrics: no directive")
	}
	root := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		if err := checkName("dimension", k); err != nil {
			return err
		}
		if k == awsKey {
			return fmt.Errorf("metrics: dimension %q is reserved", k)
		}
		if err := checkName("dimension "+k+" value", dims[k]); err != nil {
			return err
		}
		root[k] = dims[k]
	}
	cw := make([]any, 0, len(directives))
	for _, d := range directives {
		metrics := d.Metrics
		if len(metrics) == 0 || len(metrics) > MaxMetrics {
			return fmt.Errorf("metrics: %d metrics: want 1 to %d", len(metrics), MaxMetrics)
		}
		if len(d.Dimensions) > MaxDimensions {
			return fmt.Errorf("metrics: %d dimensions: want at most %d", len(d.Dimensions), MaxDimensions)
		}
		for i, k := range d.Dimensions {
			if _, ok := dims[k]; !ok {
				return fmt.Errorf("metrics: dimension %q has no value in the line", k)
			}
			if slices.Contains(d.Dimensions[:i], k) {
				return fmt.Errorf("metrics: dimension %q twice in a dimension set", k)
			}
		}
		defs := make([]map[string]string, 0, len(metrics))
		for _, m := range metrics {
			if err := checkName("metric", m.Name); err != nil {
				return err
			}
			if _, dup := root[m.Name]; dup || m.Name == awsKey {
				return fmt.Errorf("metrics: metric %q: the name is taken (by a dimension, another metric or _aws)", m.Name)
			}
			if m.Value != m.Value || m.Value > 1.7e308 || m.Value < -1.7e308 {
				return fmt.Errorf("metrics: metric %s: %v is not a finite number", m.Name, m.Value)
			}
			unit := m.Unit
			if unit == "" {
				unit = None
			}
			root[m.Name] = m.Value
			defs = append(defs, map[string]string{"Name": m.Name, "Unit": string(unit)})
		}
		cw = append(cw, map[string]any{
			"Namespace":  e.namespace,
			"Dimensions": [][]string{append([]string{}, d.Dimensions...)},
			"Metrics":    defs,
		})
	}
	root[awsKey] = map[string]any{
		"Timestamp":         e.now().UnixMilli(),
		"CloudWatchMetrics": cw,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("metrics: encode: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.w.Write(buf.Bytes())
	return err
}
