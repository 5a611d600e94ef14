package stack_test

import (
	"strings"
	"testing"

	"github.com/lawcket/lawcket/internal/stack"
)

func TestSweepOptions(t *testing.T) {
	chat, plain := load(t, specs["chat"]), load(t, specs["api"])
	for _, tt := range []struct {
		name  string
		shape stack.Shape
		expr  string
		chat  bool
		err   string
	}{
		{"every 15 minutes", stack.Sync, "rate(15 minutes)", true, ""},
		{"every minute", stack.Sync, "rate(1 minute)", true, ""},
		{"daily cron", stack.Sync, "cron(0 3 * * ? *)", true, ""},
		{"plural for one", stack.Sync, "rate(1 minutes)", true, "singular unit for 1"},
		{"singular for many", stack.Sync, "rate(5 hour)", true, "singular unit for 1"},
		{"zero", stack.Sync, "rate(0 minutes)", true, "want rate("},
		{"not an expression", stack.Sync, "every 15 minutes", true, "want rate("},
		{"short cron", stack.Sync, "cron(0 3 * *)", true, "want rate("},
		{"single shape", stack.Single, "rate(15 minutes)", true, "needs --shape sync"},
		{"no channels", stack.Sync, "rate(15 minutes)", false, "needs a channels: section"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := plain
			if tt.chat {
				spec = chat
			}
			s, err := stack.New(spec, stack.Options{Shape: tt.shape, Sweep: tt.expr})
			if tt.err == "" {
				if err != nil || len(s.Schedules) != 1 || s.Schedules[0].Expression != tt.expr || s.Schedules[0].Target.ID != stack.SyncFunction {
					t.Fatalf("New: %v, %+v", err, s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("New: %v, want an error with %q", err, tt.err)
			}
		})
	}
}
