package testsupport

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writes, for collecting
// a log and a handler's output, which several goroutines write.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// PeakRSS is the peak resident set size of process pid in bytes (VmHWM in
// /proc/PID/status, Linux only), for the benchmarks that measure a gateway
// running in its own process.
func PeakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("testsupport: peak RSS: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("testsupport: peak RSS: %q: %w", strings.TrimSpace(line), err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("testsupport: peak RSS: no VmHWM in /proc/PID/status")
}
