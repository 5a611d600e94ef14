// Package testsupport holds the helpers the tests and benchmarks of several
// packages share: SyncBuffer (a buffer for logs written by many goroutines)
// and PeakRSS (a process's peak resident memory). It is imported by tests,
// benchmarks and the demo programs (internal/lambdarun, examples/syncdemo),
// never by code that ships in a binary under cmd/.
//
// Lifecycle and concurrency: there is none to manage; a SyncBuffer's methods
// are safe for concurrent use, PeakRSS reads /proc once per call.
package testsupport
