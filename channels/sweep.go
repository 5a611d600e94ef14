package channels

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
)

// Defaults of a Sweeper.
const (
	DefaultSweepRate        = 50 // GetConnection calls per second
	DefaultSweepConcurrency = 8
	maxListed               = 1000 // ids and failures a SweepReport lists
)

// SweepOption configures NewSweeper.
type SweepOption func(*Sweeper)

// WithSweepRate bounds the GetConnection calls per second (default 50).
// They count against the account's API Gateway throttle (10,000 requests/s
// shared with every post).
func WithSweepRate(perSecond float64) SweepOption {
	return func(s *Sweeper) {
		if perSecond <= 0 {
			s.errs = append(s.errs, fmt.Errorf("channels: WithSweepRate(%v): must be positive", perSecond))
			return
		}
		s.rate = perSecond
	}
}

// WithSweepConcurrency sets how many checks are in flight (default 8).
func WithSweepConcurrency(n int) SweepOption {
	return func(s *Sweeper) {
		if n < 1 {
			s.errs = append(s.errs, fmt.Errorf("channels: WithSweepConcurrency(%d): must be at least 1", n))
			return
		}
		s.concurrency = n
	}
}

// WithSweepChannels also sweeps the subscriptions of p: those of gone
// connections are removed (with leave frames), and subscriptions whose
// connection has no row any more are checked too.
func WithSweepChannels(p *Plugin) SweepOption {
	return func(s *Sweeper) { s.plugin = p }
}

// WithSweepDryRun reports what would be removed without removing it.
func WithSweepDryRun(dry bool) SweepOption {
	return func(s *Sweeper) { s.dryRun = dry }
}

// WithSweepLogger sets the logger (default slog.Default()).
func WithSweepLogger(l *slog.Logger) SweepOption {
	return func(s *Sweeper) {
		if l != nil {
			s.log = l
		}
	}
}

// WithSweepAPIID sets the API id for a Management API endpoint with the
// {apiId} placeholder (rows do not store it).
func WithSweepAPIID(id string) SweepOption {
	return func(s *Sweeper) { s.apiID = id }
}

// Sweeper removes zombie connections: rows (and subscriptions) of
// connections the Management API says are gone, whose $disconnect never
// came. Build it once; Sweep may be called repeatedly, one at a time or
// concurrently.
type Sweeper struct {
	conns       *dynamo.Table
	checker     Checker
	plugin      *Plugin
	rate        float64
	concurrency int
	dryRun      bool
	apiID       string
	log         *slog.Logger
	errs        []error
}

// NewSweeper returns a Sweeper of the connections table conns, asking
// checker about each connection.
func NewSweeper(conns *dynamo.Table, checker Checker, opts ...SweepOption) (*Sweeper, error) {
	if conns == nil || checker == nil {
		return nil, errors.New("channels: NewSweeper needs a connections table and a checker")
	}
	s := &Sweeper{conns: conns, checker: checker, rate: DefaultSweepRate, concurrency: DefaultSweepConcurrency, log: slog.Default()}
	for _, o := range opts {
		if o == nil {
			s.errs = append(s.errs, errors.New("channels: nil SweepOption"))
			continue
		}
		o(s)
	}
	if err := errors.Join(s.errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// SweepReport says what one Sweep did.
type SweepReport struct {
	// Checked is the number of GetConnection calls.
	Checked int `json:"checked"`
	// Alive is the number of connections that exist.
	Alive int `json:"alive"`
	// Gone is the number of connections that answered 410.
	Gone int `json:"gone"`
	// RowsDeleted is the number of gone connections' rows deleted.
	RowsDeleted int `json:"rowsDeleted"`
	// SubscriptionsDeleted is the number of their subscriptions deleted.
	SubscriptionsDeleted int `json:"subscriptionsDeleted"`
	// Orphans is the number of connections that had subscriptions but no
	// row (checked too; removed when gone).
	Orphans int `json:"orphans"`
	// Removed lists the gone connections (up to 1000; RemovedOmitted more).
	// A connection that answers 410 to a leave frame the sweep sends is
	// removed there, by the publish's 410 handling (logged), and is not
	// counted in this report.
	Removed        []string `json:"removed"`
	RemovedOmitted int      `json:"removedOmitted,omitempty"`
	// Failed counts checks or removals that failed; Failures lists them.
	Failed   int            `json:"failed"`
	Failures []SweepFailure `json:"failures"`
	DryRun   bool           `json:"dryRun,omitempty"`
}

// SweepFailure is one connection the sweep could not check or remove.
type SweepFailure struct {
	ConnectionID string `json:"connectionId"`
	Error        string `json:"error"`
}

// candidate is one connection to check.
type candidate struct {
	target mgmt.Target
	orphan bool // subscriptions without a row
}

// Sweep checks every stored connection (a Scan of the connections table,
// then, with WithSweepChannels, a Scan of the subscriptions index for
// connections without a row), at most WithSweepRate per second, and
// removes the gone ones. A connection that answers anything but 410 is
// kept (a failure when it is not 2xx). The error is non-nil when a table
// could not be read or ctx ended; the report covers what was done.
func (s *Sweeper) Sweep(ctx context.Context) (SweepReport, error) {
	rep := SweepReport{Removed: []string{}, Failures: []SweepFailure{}, DryRun: s.dryRun}
	var mu sync.Mutex
	removed := map[string]bool{} // gone connections of the first pass
	interval := time.Duration(float64(time.Second) / s.rate)
	tick := time.NewTicker(max(interval, time.Microsecond))
	defer tick.Stop()

	// pass runs produce with a pool of workers checking what it feeds, at
	// most rate per second, and waits for them.
	pass := func(produce func(feed func(candidate) bool) error) error {
		work := make(chan candidate)
		var wg sync.WaitGroup
		for range s.concurrency {
			wg.Go(func() {
				for c := range work {
					if s.one(ctx, c, &rep, &mu) {
						mu.Lock()
						removed[c.target.ConnectionID] = true
						mu.Unlock()
					}
				}
			})
		}
		feed := func(c candidate) bool {
			select {
			case <-ctx.Done():
				return false
			case <-tick.C:
			}
			select {
			case <-ctx.Done():
				return false
			case work <- c:
				return true
			}
		}
		err := produce(feed)
		close(work)
		wg.Wait()
		return err
	}

	readErr := pass(func(feed func(candidate) bool) error {
		for row, err := range s.conns.Connections(ctx, dynamo.Selector{}) {
			if err != nil {
				return err
			}
			if _, young := establishing(row, time.Now()); young {
				continue // may still be in its $connect, when GetConnection says 410
			}
			if !feed(candidate{target: mgmt.Target{ConnectionID: row.ConnectionID, DomainName: row.DomainName, Stage: row.Stage, APIID: s.apiID}}) {
				return nil
			}
		}
		return nil
	})
	if readErr == nil && s.plugin != nil && ctx.Err() == nil {
		readErr = pass(func(feed func(candidate) bool) error {
			last := ""
			for item, err := range s.plugin.store.scanIndex(ctx) {
				if err != nil {
					return err
				}
				id := stringAttr(item, AttrConnectionID)
				mu.Lock()
				done := removed[id]
				mu.Unlock()
				if id == last || done {
					continue // items of one connection come together; the first pass removed it
				}
				last = id
				if _, err := s.conns.Get(ctx, id); err == nil {
					continue // it has a row: checked in the first pass, or new since
				} else if !errors.Is(err, dynamo.ErrNotFound) {
					mu.Lock()
					s.fail(&rep, id, err)
					mu.Unlock()
					continue
				}
				t := mgmt.Target{ConnectionID: id, DomainName: stringAttr(item, AttrDomainName), Stage: stringAttr(item, AttrStage), APIID: s.apiID}
				if !feed(candidate{target: t, orphan: true}) {
					return nil
				}
			}
			return nil
		})
	}
	slices.Sort(rep.Removed)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if readErr != nil {
		return rep, fmt.Errorf("channels: sweep: %w", readErr)
	}
	return rep, nil
}

// one checks one connection and removes it when gone; it reports whether
// it was gone.
func (s *Sweeper) one(ctx context.Context, c candidate, rep *SweepReport, mu *sync.Mutex) bool {
	id := c.target.ConnectionID
	err := s.checker.Check(ctx, c.target)
	mu.Lock()
	rep.Checked++
	if c.orphan {
		rep.Orphans++
	}
	switch {
	case err == nil:
		rep.Alive++
		mu.Unlock()
		return false
	case !errors.Is(err, mgmt.ErrGone):
		s.fail(rep, id, err)
		mu.Unlock()
		return false
	}
	rep.Gone++
	if len(rep.Removed) < maxListed {
		rep.Removed = append(rep.Removed, id)
	} else {
		rep.RemovedOmitted++
	}
	mu.Unlock()
	if s.dryRun {
		return true
	}
	s.log.InfoContext(ctx, "channels: sweep removes a gone connection", "connectionId", id)
	var errs []error
	rowDeleted := false
	if !c.orphan {
		if err := s.conns.Delete(ctx, id); err != nil {
			errs = append(errs, err)
		} else {
			rowDeleted = true
		}
	}
	var rem Removed
	if s.plugin != nil {
		var err error
		if rem, err = s.plugin.Remove(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if rowDeleted {
		rep.RowsDeleted++
	}
	rep.SubscriptionsDeleted += rem.Subscriptions
	if err := errors.Join(errs...); err != nil {
		s.fail(rep, id, err)
	}
	return true
}

func (s *Sweeper) fail(rep *SweepReport, id string, err error) {
	rep.Failed++
	if len(rep.Failures) < maxListed {
		rep.Failures = append(rep.Failures, SweepFailure{ConnectionID: id, Error: err.Error()})
	}
}

// scanIndexPage is the Limit of the index Scan's pages.
const scanIndexPage = 1000

// scanIndex streams the items of ConnectionIndex (the keys,
// domainName and stage of every subscription).
func (st *store) scanIndex(ctx context.Context) iter.Seq2[map[string]types.AttributeValue, error] {
	return func(yield func(map[string]types.AttributeValue, error) bool) {
		p := dynamodb.NewScanPaginator(st.client, &dynamodb.ScanInput{
			TableName: &st.name,
			IndexName: aws.String(ConnectionIndex),
			Limit:     aws.Int32(scanIndexPage),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				yield(nil, translate("Scan", st.name+"/"+ConnectionIndex, err))
				return
			}
			for _, item := range out.Items {
				if !yield(item, nil) {
					return
				}
			}
		}
	}
}
