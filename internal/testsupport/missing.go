package testsupport

import (
	"fmt"
	"os"
	"testing"
)

// Missing is what a test does when a tool or a service it needs is not
// there: it skips the test, and fails it under CI=true, where every
// integration check must run.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: this check must run)", msg)
	}
	t.Skip(msg)
}
