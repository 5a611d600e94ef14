package testsupport_test

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/lawcket/lawcket/internal/testsupport"
)

func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is in Linux's /proc")
	}
	if rss, err := testsupport.PeakRSS(os.Getpid()); err != nil || rss < 1<<20 {
		t.Fatalf("PeakRSS(self) = %d, %v; want at least 1 MB", rss, err)
	}
	if _, err := testsupport.PeakRSS(-1); err == nil {
		t.Fatal("PeakRSS(-1) succeeded; want an error")
	}
}

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b testsupport.SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprint(&b, "x")
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes, want 800", n)
	}
}

func ExampleSyncBuffer() {
	var b testsupport.SyncBuffer
	fmt.Fprintln(&b, "written by any goroutine")
	fmt.Print(b.String())
	// Output:
	// written by any goroutine
}
