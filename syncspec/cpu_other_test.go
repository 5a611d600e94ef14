//go:build !unix

package syncspec_test

import "testing"

// reportCPU is a no-op where getrusage is not available.
func reportCPU(*testing.B) func() { return func() {} }
