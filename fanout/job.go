package fanout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/eval"
)

// MaxJobBytes is the largest encoded Job: SQS's message limit (256 KiB).
// A payload API Gateway accepts (at most 128 KB) always fits, base64 and
// all (about 171 KB), so a Job carries its payload itself.
const MaxJobBytes = 256 * 1024

// Job is one segment of a broadcast: what a worker needs to run it
// anywhere, small and serialisable (JSON, see Encode). Every job of a
// broadcast carries the same payload and a share of its rate.
type Job struct {
	// Broadcast names the broadcast the job belongs to (for logs and
	// metrics); Segment/Segments say which part it is.
	Broadcast string `json:"broadcast"`
	// Table is the connections table; the worker refuses a job for another.
	Table string `json:"table"`
	// Field and Value select the rows of one index value (a Query); empty
	// for every row (a Scan, split into Segments).
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	// Segment of Segments of a Scan (Segments 0 or 1: the whole Scan or
	// the one Query).
	Segment  int `json:"segment"`
	Segments int `json:"segments"`
	// Shard of Shards of a Query on a sharded index field (shards: S in
	// the spec): the job reads the value's key in that one shard. Shards
	// 0 reads every shard of the field (one job for all); Plan sets
	// Shards to the field's S and makes one job per shard.
	Shard  int `json:"shard,omitempty"`
	Shards int `json:"shards,omitempty"`
	// Payload is posted to every selected connection.
	Payload []byte `json:"payload"`
	// Rate is this job's share of the broadcast's rate, in requests/s (0:
	// the worker's default).
	Rate float64 `json:"rate,omitempty"`
	// Exclude is a connection not to post to; APIID fills {apiId}.
	Exclude string `json:"exclude,omitempty"`
	APIID   string `json:"apiId,omitempty"`
	// AtLeastOnce resends ambiguous posts, and lets a job that stopped
	// half-way be run again (see the package documentation).
	AtLeastOnce bool `json:"atLeastOnce,omitempty"`
}

// Selector is the job's part of the table.
func (j Job) Selector() dynamo.Selector {
	if j.Field != "" {
		return dynamo.Selector{Field: j.Field, Value: j.Value, Shard: j.Shard, Shards: j.Shards}
	}
	if j.Segments > 1 {
		return dynamo.Selector{Segment: j.Segment, Segments: j.Segments}
	}
	return dynamo.Selector{}
}

// Check reports what makes j unrunnable.
func (j Job) Check() error {
	var errs []error
	if j.Table == "" {
		errs = append(errs, errors.New("no table"))
	}
	if j.Field == "" && j.Value != "" {
		errs = append(errs, fmt.Errorf("value %q without a field", j.Value))
	}
	if j.Field != "" && j.Segments > 1 {
		errs = append(errs, errors.New("a Query (field) cannot be split into segments"))
	}
	if j.Segments < 0 || j.Segment < 0 || (j.Segments > 1 && j.Segment >= j.Segments) || (j.Segments <= 1 && j.Segment != 0) {
		errs = append(errs, fmt.Errorf("segment %d of %d", j.Segment, j.Segments))
	}
	if j.Shards != 0 && j.Field == "" {
		errs = append(errs, fmt.Errorf("shard %d of %d without a field: shards split a sharded index field's Query", j.Shard, j.Shards))
	}
	if err := eval.CheckShards(j.Shards); err != nil || j.Shard < 0 || (j.Shards > 0 && j.Shard >= j.Shards) || (j.Shards == 0 && j.Shard != 0) {
		errs = append(errs, fmt.Errorf("shard %d of %d: want 0 <= shard < shards, shards 2 to %d (or both 0)", j.Shard, j.Shards, eval.MaxShards))
	}
	if j.Rate < 0 || math.IsNaN(j.Rate) || math.IsInf(j.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate %v", j.Rate))
	}
	if len(j.Payload) == 0 {
		errs = append(errs, errors.New("empty payload"))
	}
	if err := errors.Join(errs...); err != nil {
		if j.Shards != 0 {
			return fmt.Errorf("fanout: job %s shard %d/%d: %w", j.Broadcast, j.Shard, j.Shards, err)
		}
		return fmt.Errorf("fanout: job %s %d/%d: %w", j.Broadcast, j.Segment, j.Segments, err)
	}
	return nil
}

// Encode returns j as JSON, refusing a job that cannot run or that would
// not fit in an SQS message.
func (j Job) Encode() ([]byte, error) {
	if err := j.Check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("fanout: encode job: %w", err)
	}
	if len(b) > MaxJobBytes {
		return nil, fmt.Errorf("fanout: job %s is %d bytes, over the %d of an SQS message (the payload is %d bytes; API Gateway takes at most 128 KB)", j.Broadcast, len(b), MaxJobBytes, len(j.Payload))
	}
	return b, nil
}

// Decode reads a Job encoded by Encode, refusing unknown fields and jobs
// that cannot run.
func Decode(b []byte) (Job, error) {
	var j Job
	if len(b) > MaxJobBytes {
		return Job{}, fmt.Errorf("fanout: job of %d bytes, over %d", len(b), MaxJobBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Job{}, fmt.Errorf("fanout: decode job: %w", err)
	}
	if dec.More() {
		return Job{}, errors.New("fanout: decode job: data after the JSON object")
	}
	return j, j.Check()
}

// Plan splits a broadcast into jobs: every row is segments Scan segments
// (1 to 1,000,000); a Query (Field set) is one job, or, on a sharded
// field, base.Shards jobs (set it to the field's S, dynamo.Table.Shards or
// the spec's Field.Shards), Shard 0 to S-1, which together read every row
// of the value exactly once. Each job has the rate divided by the number
// of jobs.
func Plan(base Job, segments int) ([]Job, error) {
	if segments < 1 || segments > 1000000 {
		return nil, fmt.Errorf("fanout: %d segments: want 1 to 1,000,000", segments)
	}
	if base.Field != "" && segments > 1 {
		return nil, fmt.Errorf("fanout: a Query on %s cannot be split into %d segments: run it as one job (a sharded field is split by its shards)", base.Field, segments)
	}
	if base.Shard != 0 {
		return nil, fmt.Errorf("fanout: plan from shard %d: the base job names no shard (Plan makes one job per shard)", base.Shard)
	}
	n, shards := segments, base.Field != "" && base.Shards > 0
	if shards {
		n = base.Shards
	}
	jobs := make([]Job, n)
	for i := range jobs {
		j := base
		switch {
		case shards:
			j.Shard = i
		case segments > 1:
			j.Segment, j.Segments = i, segments
		default:
			j.Segment, j.Segments = 0, 0
		}
		j.Rate = base.Rate / float64(n)
		if err := j.Check(); err != nil {
			return nil, err
		}
		jobs[i] = j
	}
	return jobs, nil
}
