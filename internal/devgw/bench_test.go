package devgw_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/devgw"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// serveEnv makes the test binary run a gateway instead of the tests (see
// serveForBenchmark): the benchmark measures the gateway in its own process.
const serveEnv = "DEVGW_BENCH_SERVE"

// serveForBenchmark runs a gateway in front of the echo binary named by
// $DEVGW_BENCH_SERVE, prints its URL and serves until SIGINT.
func serveForBenchmark() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conc, _ := strconv.Atoi(os.Getenv("DEVGW_BENCH_CONCURRENCY"))
	g, err := devgw.New(devgw.Config{
		Env:         []string{"ECHO_WATCH_FILE=" + os.Getenv("DEVGW_BENCH_WATCH_FILE")},
		Addr:        "127.0.0.1:0",
		Command:     []string{os.Getenv(serveEnv)},
		Concurrency: conc,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := g.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := g.WaitReady(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if path := os.Getenv("DEVGW_BENCH_CPUPROFILE"); path != "" {
		// The gateway's own profile: DEVGW_BENCH_CPUPROFILE=/tmp/gw.prof go test -bench ...
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println(g.URL())
	<-ctx.Done()
	if err := g.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// BenchmarkThousandClients is issue 7's figure for the gateway: 1,000
// concurrent clients connect, each sends one message and reads the echo the
// handler posts back through the Management API, then all disconnect and
// every $disconnect is delivered. One op is that whole round; any error fails
// the benchmark. The gateway runs in its own process (this test binary,
// re-executed), so gw-peak-MB is its own peak RSS (VmHWM): WebSocket server,
// Runtime API, Management API and the embedded DynamoDB — not the handler
// processes, nor these clients. The handler is testdata/echo, 4 processes.
//
//	go test -run '^$' -bench ThousandClients -benchtime 3x ./internal/devgw
func BenchmarkThousandClients(b *testing.B) {
	const clients, procs = 1000, 4
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+echoBin, "DEVGW_BENCH_CONCURRENCY="+strconv.Itoa(procs),
		"DEVGW_BENCH_WATCH_FILE="+filepath.Join(b.TempDir(), "watcher"))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		b.Fatal("the gateway process printed no URL")
	}
	url := strings.TrimSpace(lines.Text())
	// A watcher counts $disconnect events (the echo handler posts each to it).
	ctx := context.Background()
	watcher, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer watcher.CloseNow()
	watcher.SetReadLimit(1 << 20)
	if err := watcher.Write(ctx, websocket.MessageText, []byte(`{"action":"watch"}`)); err != nil {
		b.Fatal(err)
	}
	if _, _, err := watcher.Read(ctx); err != nil {
		b.Fatal(err)
	}

	var errs atomic.Int64
	fail := func(format string, args ...any) {
		if errs.Add(1) <= 5 {
			b.Errorf(format, args...)
		}
	}
	b.ResetTimer()
	for range b.N {
		conns := make([]*websocket.Conn, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				c, _, err := websocket.Dial(rctx, url, nil)
				if err != nil {
					fail("connect %d: %v", i, err)
					return
				}
				conns[i] = c
				msg := `{"action":"hello","n":` + strconv.Itoa(i) + `}`
				if err := c.Write(rctx, websocket.MessageText, []byte(msg)); err != nil {
					fail("send %d: %v", i, err)
					return
				}
				if _, data, err := c.Read(rctx); err != nil || !strings.Contains(string(data), `\"n\":`+strconv.Itoa(i)+`}`) {
					fail("client %d read %.80q: %v", i, data, err)
				}
			})
		}
		wg.Wait()
		closed := 0
		for _, c := range conns {
			if c != nil {
				closed++
				wg.Go(func() { c.Close(websocket.StatusNormalClosure, "") })
			}
		}
		wg.Wait()
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		for range closed {
			if _, _, err := watcher.Read(rctx); err != nil {
				fail("waiting for $disconnect events: %v", err)
				break
			}
		}
		cancel()
	}
	b.StopTimer()
	if n := errs.Load(); n > 0 {
		b.Fatalf("%d errors", n)
	}
	rss, err := testsupport.PeakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rss)/(1<<20), "gw-peak-MB")
	b.ReportMetric(0, "errors")
}
