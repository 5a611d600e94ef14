package channels

// This file is the package's only use of the Management API client besides
// posts (fanout.go): GetConnection, for sweeps.

import (
	"context"

	"github.com/lawcket/lawcket/mgmt"
)

// Checker asks the Management API whether a connection still exists.
// Check returns nil when it does, an error wrapping mgmt.ErrGone when it
// answers 410, and any other error as it is. It is called concurrently.
type Checker interface {
	Check(ctx context.Context, t mgmt.Target) error
}

// NewChecker returns the Checker that calls GetConnection through c (the
// App's *mgmt.Client may be shared).
func NewChecker(c *mgmt.Client) Checker { return getter{c} }

type getter struct{ c *mgmt.Client }

func (g getter) Check(ctx context.Context, t mgmt.Target) error {
	_, err := g.c.Get(ctx, t)
	return err
}
