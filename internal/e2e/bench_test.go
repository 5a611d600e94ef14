package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// BenchmarkChat1000Clients is issue 7's figure with the chat example: 1,000
// concurrent clients (100 rooms of 10) connect, each sends one message and
// reads the 10 messages of its room, then all disconnect and the table is
// empty again. One op is that whole round; errors fail the benchmark. The
// gateway runs as `lawcket dev` in its own process, so "gw-peak-MB" is its
// own peak RSS (VmHWM: WebSocket server, Runtime API and, in "embedded", the
// in-memory DynamoDB; not the handler processes, nor these clients).
//
//	go test -run '^$' -bench Chat1000 -benchtime 3x ./internal/e2e
func BenchmarkChat1000Clients(b *testing.B) {
	const procs = 4
	b.Run("embedded", func(b *testing.B) {
		chatRound(b, startDevProcess(b, "--concurrency", strconv.Itoa(procs)), 1000, true)
	})
	// The same with the table on dynalite (--dynamodb-endpoint).
	b.Run("dynalite", func(b *testing.B) {
		endpoint := dynalitetest.Start(b)
		chatRound(b, startDevProcess(b, "--concurrency", strconv.Itoa(procs), "--dynamodb-endpoint", endpoint), 1000, true)
	})
}

// BenchmarkChatEmbeddedStore is issue 15's figure: 1,000 and 5,000 chat
// clients in rooms of 10 on the embedded DynamoDB, "indexed" (the default
// now) side by side with "scan" (the previous default: every GSI Query
// scanned the table; LAWCKET_DEV_DYNAMODB_NOINDEX=1). Errors fail the
// indexed runs; in the scan runs they are counted ("errors": connects or
// messages that failed, mostly message invocations past the 29 s
// integration timeout) and the round ends when every client has its
// answers or an error.
//
//	go test -run '^$' -bench ChatEmbeddedStore -benchtime 1x -timeout 60m ./internal/e2e
func BenchmarkChatEmbeddedStore(b *testing.B) {
	for _, clients := range []int{1000, 5000} {
		// One handler process per 250 clients: a message invocation waits
		// on the Management API for most of its time, and on AWS each
		// would have its own execution environment.
		procs := clients / 250
		for _, store := range []string{"indexed", "scan"} {
			b.Run(fmt.Sprintf("clients=%d/%s", clients, store), func(b *testing.B) {
				if store == "scan" {
					b.Setenv("LAWCKET_DEV_DYNAMODB_NOINDEX", "1")
				}
				chatRound(b, startDevProcess(b, "--concurrency", strconv.Itoa(procs)), clients, store == "indexed")
			})
		}
	}
}

// chatRound runs b.N rounds of clients chat clients in rooms of 10. With
// strict, any error fails the benchmark; without, errors are only counted
// and reported (the "errors" metric).
func chatRound(b *testing.B, dev *devProcess, clients int, strict bool) {
	const roomSize = 10
	ctx := context.Background()
	db := dynalitetest.Client(dev.dynamoURL)

	var errs atomic.Int64
	fail := func(format string, args ...any) {
		if errs.Add(1) <= 5 {
			if strict {
				b.Errorf(format, args...)
			} else {
				b.Logf(format, args...)
			}
		}
	}
	b.ResetTimer()
	for round := range b.N {
		conns := make([]*websocket.Conn, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				url := fmt.Sprintf("%s?user=u%d&room=b%d-%d", dev.wsURL, i, round, i/roomSize)
				c, _, err := websocket.Dial(ctx, url, nil)
				if err != nil {
					fail("connect %d: %v", i, err)
					return
				}
				conns[i] = c
			})
		}
		wg.Wait()
		for i, c := range conns {
			if c == nil {
				continue
			}
			wg.Go(func() {
				rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				if err := c.Write(rctx, websocket.MessageText, []byte(`{"action":"send","text":"hi from `+strconv.Itoa(i)+`"}`)); err != nil {
					fail("send %d: %v", i, err)
					return
				}
				for range roomSize {
					if _, data, err := c.Read(rctx); err != nil || !strings.Contains(string(data), `"text":"hi from `) {
						fail("client %d read %q: %v", i, data, err)
						return
					}
				}
			})
		}
		wg.Wait()
		for _, c := range conns {
			if c != nil {
				wg.Go(func() { c.Close(websocket.StatusNormalClosure, "") })
			}
		}
		wg.Wait()
		// Round done when every $disconnect has deleted its row.
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("chat-connections"), Select: "COUNT"})
			if err == nil && out.Count == 0 {
				break
			}
			if time.Now().After(deadline) {
				if strict || err != nil {
					b.Fatalf("rows left 60s after every client closed: %v %v", out, err)
				}
				// The baseline: rows whose $disconnect is still queued count
				// as errors, and the round ends.
				fail("%d rows left 60s after every client closed", out.Count)
				errs.Add(int64(out.Count) - 1)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.StopTimer()
	if n := errs.Load(); n > 0 && strict {
		b.Fatalf("%d errors", n)
	}
	rss, err := testsupport.PeakRSS(dev.pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rss)/(1<<20), "gw-peak-MB")
	b.ReportMetric(float64(errs.Load())/float64(b.N), "errors")
}

// devProcess is `lawcket dev` running the chat example in its own process.
type devProcess struct {
	pid       int
	wsURL     string
	dynamoURL string
	mgmtURL   string
	pageURL   string
	stderr    *testsupport.SyncBuffer

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	stop    sync.Once
}

// startDevProcess runs the built lawcket command on a free port with the
// chat example and extra flags, and stops it (SIGINT) at cleanup.
func startDevProcess(t testing.TB, flags ...string) *devProcess {
	t.Helper()
	args := append([]string{"dev",
		"-c", filepath.Join("examples", "chat", "lawcket.yaml"),
		"--static", filepath.Join("examples", "chat", "static"),
		"--addr", "127.0.0.1:0"}, flags...)
	return startLawcket(t, append(args, "--", chatBinary(t))...)
}

// startLawcket runs the built lawcket command with args (in the repository
// root) until its banner has named the static page, and stops it (SIGINT)
// at cleanup.
func startLawcket(t testing.TB, args ...string) *devProcess {
	t.Helper()
	lawcketBin := goBuild(t, "github.com/lawcket/lawcket/cmd/lawcket", "lawcket")
	cmd := exec.Command(lawcketBin, args...)
	cmd.Dir = repoRoot(t)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &devProcess{stderr: &testsupport.SyncBuffer{}, cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.pid = cmd.Process.Pid
	go func() { d.waitErr = cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		if err := d.interrupt(); err != nil {
			t.Errorf("lawcket dev: %v", err)
		}
		if t.Failed() {
			t.Logf("lawcket dev stderr:\n%s", lastLines(d.stderr.String(), 60))
		}
	})
	// The banner names the endpoints.
	banner := map[string]string{}
	lines := bufio.NewScanner(stdout)
	timer := time.AfterFunc(180*time.Second, func() { cmd.Process.Kill() }) // --template builds functions first
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if k, v, ok := strings.Cut(line, ":"); ok {
			banner[k] = strings.Fields(v + " ")[0]
		}
		if strings.HasPrefix(line, "Static page:") {
			break
		}
	}
	timer.Stop()
	go io.Copy(io.Discard, stdout)
	d.wsURL, d.dynamoURL, d.pageURL = banner["WebSocket URL"], banner["DynamoDB"], banner["Static page"]
	d.mgmtURL = banner["Management API"]
	if !strings.HasPrefix(d.wsURL, "ws://127.0.0.1:") || !strings.HasPrefix(d.dynamoURL, "http://") || !strings.HasPrefix(d.mgmtURL, "http://127.0.0.1:") || !strings.HasPrefix(d.pageURL, "http://127.0.0.1:") {
		t.Fatalf("lawcket dev banner %v; want the WebSocket URL, the DynamoDB endpoint and the static page\n%s", banner, d.stderr)
	}
	return d
}

// interrupt stops the process as Ctrl-C does and returns how it exited
// (killed when still running 30 s later). Later calls return the same.
func (d *devProcess) interrupt() error {
	d.stop.Do(func() {
		d.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
			d.waitErr = fmt.Errorf("still running 30s after SIGINT (killed): %v", d.waitErr)
		}
	})
	return d.waitErr
}
