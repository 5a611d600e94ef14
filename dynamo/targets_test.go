package dynamo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/dynamo"
)

// TestScanSegments: the segments of a parallel Scan are disjoint and cover
// every row; Targets carries each row's id, domain and stage.
func TestScanSegments(t *testing.T) {
	e := newEnv(t, fullSpec)
	p, err := dynamo.NewPlugin(context.Background(), e.spec, dynamo.WithClient(e.client), dynamo.WithPageSize(3), fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, p, "lobby", "lobby", 23)
	putRows(t, p, "attic", "attic", 5)
	tbl := p.Table()
	seen := map[string]int{}
	for seg := range 4 {
		n := 0
		for target, err := range tbl.Targets(context.Background(), dynamo.Selector{Segment: seg, Segments: 4}) {
			if err != nil {
				t.Fatal(err)
			}
			if target.ConnectionID == "" || target.Stage == "" || target.DomainName == "" {
				t.Errorf("target %+v lacks its id, stage or domain", target)
			}
			seen[target.ConnectionID]++
			n++
		}
		t.Logf("segment %d: %d rows", seg, n)
	}
	if len(seen) != 28 {
		t.Errorf("4 segments read %d rows, want 28", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s read %d times", id, n)
		}
	}
	for _, sel := range []dynamo.Selector{
		{Segment: 4, Segments: 4}, {Segment: -1, Segments: 2}, {Segments: -1},
		{Field: "room", Value: "lobby", Segments: 2}, {Segments: 1000001},
	} {
		for _, err := range tbl.Targets(context.Background(), sel) {
			if err == nil || !strings.Contains(err.Error(), "segment") {
				t.Errorf("%+v: err = %v", sel, err)
			}
			break
		}
	}
}
