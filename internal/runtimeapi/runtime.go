package runtimeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors an invocation can end with. The local gateway (internal/devgw)
// answers 502 for all of them except ErrTimeout (504), as API Gateway does
// for a failing integration.
var (
	// ErrFunction: the handler returned an error (POST .../error, whose
	// body the error wraps as a *FunctionError).
	ErrFunction = errors.New("runtimeapi: handler returned an error")
	// ErrCrashed: the handler process exited while the invocation was in flight.
	ErrCrashed = errors.New("runtimeapi: handler process exited during the invocation")
	// ErrTimeout: the handler did not answer before the integration timeout.
	ErrTimeout = errors.New("runtimeapi: integration timeout")
	// ErrUnavailable: no handler process is healthy (it fails to start or init).
	ErrUnavailable = errors.New("runtimeapi: no healthy handler process")
)

const runtimePrefix = "/2018-06-01/runtime/"

// MaxQueueWait bounds how long an invocation waits for a busy process to
// take it (see Function.Invoke). The wait is not charged to
// FunctionConfig.Timeout while a process is healthy.
const MaxQueueWait = 5 * time.Minute

// invocation is one event waiting for, or held by, a handler process.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time         // set by the process that takes it (under its worker's mu)
	done     chan invokeResult // buffered 1; exactly one send (see finish)
	once     sync.Once
}

type invokeResult struct {
	body []byte
	err  error
}

func (inv *invocation) finish(body []byte, err error) {
	inv.once.Do(func() { inv.done <- invokeResult{body: body, err: err} })
}

// pool runs Concurrency handler processes, each with its own Runtime API
// endpoint, all taking invocations from one queue.
type pool struct {
	cfg     *FunctionConfig
	log     *slog.Logger
	env     []string // child environment, without AWS_LAMBDA_RUNTIME_API
	queue   chan *invocation
	workers []*worker

	mu          sync.Mutex
	healthy     int   // workers whose current process reached /next
	lastInit    error // last init failure, nil once a process is healthy
	closed      bool
	readyCh     chan struct{} // closed when the first process is healthy
	failCh      chan struct{} // closed and replaced at each init failure
	readyOnce   sync.Once
	wg          sync.WaitGroup // runtime API servers
	supervisors sync.WaitGroup
	cancel      context.CancelFunc
}

func newPool(cfg *FunctionConfig) *pool {
	return &pool{
		cfg:     cfg,
		log:     cfg.Logger,
		env:     cfg.environ(),
		queue:   make(chan *invocation),
		readyCh: make(chan struct{}),
		failCh:  make(chan struct{}),
	}
}

// start opens one Runtime API listener per worker and starts the processes,
// which run until stop.
func (p *pool) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for i := range p.cfg.Concurrency {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			p.stop()
			return fmt.Errorf("runtimeapi: runtime API listener: %w", err)
		}
		w := &worker{n: i + 1, pool: p, ln: ln}
		w.srv = &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		p.supervisors.Add(1)
		go func() {
			defer p.wg.Done()
			if err := w.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				p.log.Error("runtime API server stopped", "worker", w.n, "err", err)
			}
		}()
		go func() {
			defer p.supervisors.Done()
			w.supervise(ctx)
		}()
	}
	return nil
}

// stop kills the processes and waits for the supervisors.
func (p *pool) stop() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	if p.cancel != nil {
		p.cancel() // the supervisors stop their processes
	}
	p.supervisors.Wait()
	for _, w := range p.workers {
		w.srv.Close()
	}
	p.wg.Wait()
}

// ready is closed once a handler process has asked for its first invocation.
func (p *pool) ready() <-chan struct{} { return p.readyCh }

// healthyCount is the number of processes that reached /next and run.
func (p *pool) healthyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.healthy
}

func (p *pool) setHealthy(delta int) {
	p.mu.Lock()
	p.healthy += delta
	if delta > 0 {
		p.lastInit = nil
		p.readyOnce.Do(func() { close(p.readyCh) })
	}
	p.mu.Unlock()
}

func (p *pool) initFailed(err error) {
	p.mu.Lock()
	p.lastInit = err
	close(p.failCh)
	p.failCh = make(chan struct{})
	p.mu.Unlock()
}

// unavailable returns ErrUnavailable while no process is healthy and the
// last start failed, and the channel closed at the next init failure.
func (p *pool) unavailable() (<-chan struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return p.failCh, fmt.Errorf("%w: function closed", ErrUnavailable)
	}
	if p.healthy == 0 && p.lastInit != nil {
		return p.failCh, fmt.Errorf("%w: %w", ErrUnavailable, p.lastInit)
	}
	return p.failCh, nil
}

// invoke sends payload to a handler process and waits for its answer.
func (p *pool) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	failed, err := p.unavailable()
	if err != nil {
		return nil, err
	}

	inv := &invocation{
		id:      NewUUID(),
		payload: payload,
		done:    make(chan invokeResult, 1),
	}
	start := time.Now()
	wait := time.NewTimer(p.cfg.Timeout)
	defer wait.Stop()
	for sent := false; !sent; {
		select {
		case p.queue <- inv:
			sent = true
		case <-failed:
			// A start failed while this invocation waited: give up unless
			// another process is healthy.
			if failed, err = p.unavailable(); err != nil {
				return nil, err
			}
		case <-wait.C:
			// While processes are healthy but all busy, keep waiting: on
			// AWS, Lambda would run the invocation in another execution
			// environment, so the local pool's queue is not charged to the
			// integration timeout (up to MaxQueueWait). With no healthy
			// process (still starting, or hung in init), it is.
			if waited := time.Since(start); p.healthyCount() > 0 && waited < MaxQueueWait {
				wait.Reset(min(time.Second, MaxQueueWait-waited))
				continue
			}
			return nil, fmt.Errorf("%w: no handler process took the invocation within %v", ErrTimeout, time.Since(start).Round(time.Millisecond))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// The process that took inv set its deadline: Timeout from now.
	timer := time.NewTimer(p.cfg.Timeout)
	defer timer.Stop()
	select {
	case r := <-inv.done:
		return r.body, r.err
	case <-timer.C:
		// Lambda ends a timed-out invocation by stopping its environment.
		inv.finish(nil, ErrTimeout)
		p.killHolder(inv)
		return nil, fmt.Errorf("%w: the handler did not answer within %v", ErrTimeout, p.cfg.Timeout)
	}
}

// killHolder kills the process holding inv, if any.
func (p *pool) killHolder(inv *invocation) {
	for _, w := range p.workers {
		w.mu.Lock()
		if w.inflight == inv && w.proc != nil && w.proc.Process != nil {
			p.log.Warn("handler timed out; restarting its process", "worker", w.n, "requestId", inv.id)
			killProcess(w.proc)
		}
		w.mu.Unlock()
	}
}

// worker is one handler process and its Runtime API endpoint.
type worker struct {
	n    int
	pool *pool
	ln   net.Listener
	srv  *http.Server

	mu       sync.Mutex
	proc     *exec.Cmd
	alive    bool           // the current process runs
	healthy  bool           // the current process reached /next
	inflight *invocation    // held by the current process
	initErr  *FunctionError // from POST /runtime/init/error
	exited   chan struct{}
}

// supervise starts the process, waits for it, and restarts it until ctx ends.
func (w *worker) supervise(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if w.run(ctx) {
			backoff = 100 * time.Millisecond
		} else if backoff < 5*time.Second {
			backoff *= 2 // a process failing its init is not restarted in a tight loop
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// run starts one process and waits for it to exit. It reports whether the
// process became healthy.
func (w *worker) run(ctx context.Context) bool {
	p := w.pool
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Dir = p.cfg.Dir
	cmd.Env = append(append([]string(nil), p.env...), "AWS_LAMBDA_RUNTIME_API="+w.ln.Addr().String())
	ownProcessGroup(cmd)
	tail := newTailWriter(p.cfg.Output, fmt.Sprintf("[%s %d] ", p.cfg.FunctionName, w.n), 20)
	cmd.Stdout = tail
	cmd.Stderr = tail

	w.mu.Lock()
	w.proc = cmd
	w.initErr = nil
	w.exited = make(chan struct{})
	exited := w.exited
	// Alive before it starts: a fast process may ask for its first
	// invocation before Start returns, and must then be served.
	w.alive = true
	err := cmd.Start()
	if err != nil {
		w.alive = false
	}
	w.mu.Unlock()

	if err != nil {
		err = fmt.Errorf("start %s: %w", p.cfg.Command[0], err)
		p.log.Error("handler process failed to start", "worker", w.n, "err", err)
		p.initFailed(err)
		close(exited)
		return false
	}

	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err = <-waitErr:
	case <-ctx.Done():
		// Lambda sends SIGTERM at shutdown, then SIGKILL.
		terminateProcess(cmd)
		select {
		case err = <-waitErr:
		case <-time.After(2 * time.Second):
			killProcess(cmd)
			err = <-waitErr
		}
	}
	tail.flush()

	w.mu.Lock()
	wasHealthy := w.healthy
	w.alive = false
	w.healthy = false
	inv := w.inflight
	w.inflight = nil
	initErr := w.initErr
	close(exited)
	w.mu.Unlock()
	if wasHealthy {
		p.setHealthy(-1)
	}
	if ctx.Err() != nil {
		if inv != nil {
			inv.finish(nil, fmt.Errorf("%w: function closing", ErrCrashed))
		}
		return wasHealthy
	}
	status := exitStatus(err)
	if inv != nil {
		p.log.Error("handler process crashed during an invocation; answering 502 and restarting",
			"worker", w.n, "requestId", inv.id, "exit", status)
		inv.finish(nil, fmt.Errorf("%w (%s)", ErrCrashed, status))
	}
	if !wasHealthy {
		var msg string
		var ierr error
		if initErr != nil {
			msg = initErr.Error()
			ierr = fmt.Errorf("handler exited during init (%s): %w", status, initErr)
		} else {
			if msg = strings.TrimSpace(tail.lastLines()); msg == "" {
				msg = "(no output)"
			}
			ierr = fmt.Errorf("handler exited during init (%s): %s", status, msg)
		}
		p.log.Error("INIT ERROR: the handler process exited before asking for an invocation; "+
			"connects are answered 502 until it starts", "worker", w.n, "exit", status, "output", msg)
		p.initFailed(ierr)
	} else if inv == nil {
		p.log.Warn("handler process exited; restarting", "worker", w.n, "exit", status)
	}
	return wasHealthy
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// ServeHTTP is the Runtime API of one worker.
func (w *worker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, runtimePrefix)
	if !ok {
		http.NotFound(rw, r)
		return
	}
	switch {
	case path == "invocation/next" && r.Method == http.MethodGet:
		w.next(rw, r)
	case path == "init/error" && r.Method == http.MethodPost:
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		fe := newFunctionError(body)
		w.mu.Lock()
		w.initErr = fe
		w.mu.Unlock()
		w.pool.log.Error("INIT ERROR reported by the handler", "worker", w.n, "error", fe.Error())
		w.pool.initFailed(fmt.Errorf("handler init error: %w", fe))
		rw.WriteHeader(http.StatusAccepted)
		io.WriteString(rw, `{"status":"OK"}`)
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		rest := strings.TrimPrefix(path, "invocation/")
		id, kind, ok := strings.Cut(rest, "/")
		if !ok || (kind != "response" && kind != "error") {
			http.NotFound(rw, r)
			return
		}
		w.answer(rw, r, id, kind)
	default:
		http.NotFound(rw, r)
	}
}

// next hands the process the next invocation, blocking until there is one.
func (w *worker) next(rw http.ResponseWriter, r *http.Request) {
	p := w.pool
	w.mu.Lock()
	exited := w.exited
	if !w.healthy && w.alive {
		w.healthy = true
		w.mu.Unlock()
		p.setHealthy(1)
		w.mu.Lock()
	}
	if prev := w.inflight; prev != nil {
		// The runtime asked for more work without answering: Lambda treats
		// this as the end of the previous invocation without a response.
		w.inflight = nil
		prev.finish(nil, fmt.Errorf("%w: the runtime asked for the next invocation without answering", ErrFunction))
	}
	w.mu.Unlock()

	var inv *invocation
	for inv == nil {
		select {
		case inv = <-p.queue:
		case <-r.Context().Done():
			return
		case <-exited:
			return
		}
		w.mu.Lock()
		if !w.alive || w.exited != exited {
			w.mu.Unlock()
			go func(inv *invocation) { requeue(p, inv) }(inv)
			return
		}
		if inv.deadline.IsZero() {
			inv.deadline = time.Now().Add(p.cfg.Timeout) // the timeout runs from here
		} else if time.Now().After(inv.deadline) {
			w.mu.Unlock() // a requeued invocation whose time is up
			inv = nil
			continue
		}
		w.inflight = inv
		w.mu.Unlock()
	}
	cfg := p.cfg
	h := rw.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", cfg.functionARN())
	h.Set("Lambda-Runtime-Trace-Id", "Root="+TraceRoot()+";Parent="+randomHex(8)+";Sampled=0")
	rw.WriteHeader(http.StatusOK)
	rw.Write(inv.payload)
}

// requeue gives an invocation taken by a dying process back to the queue.
func requeue(p *pool, inv *invocation) {
	t := time.NewTimer(time.Until(inv.deadline))
	defer t.Stop()
	select {
	case p.queue <- inv:
	case <-t.C:
		inv.finish(nil, ErrTimeout)
	}
}

// answer records POST .../response and .../error.
func (w *worker) answer(rw http.ResponseWriter, r *http.Request, id, kind string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20+1))
	if err != nil {
		http.Error(rw, `{"errorMessage":"cannot read the body","errorType":"InvalidRequestContent"}`, http.StatusBadRequest)
		return
	}
	if len(body) > 6<<20 {
		// Lambda's synchronous response limit is 6 MB.
		body = nil
		kind = "too-large"
	}
	w.mu.Lock()
	inv := w.inflight
	if inv == nil || inv.id != id {
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusBadRequest)
		io.WriteString(rw, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`)
		return
	}
	w.inflight = nil
	w.mu.Unlock()
	switch kind {
	case "response":
		// aws-lambda-go reports a failure while streaming the body in trailers.
		if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
			inv.finish(nil, fmt.Errorf("%w: %s", ErrFunction, t))
		} else {
			inv.finish(body, nil)
		}
	case "too-large":
		inv.finish(nil, fmt.Errorf("%w: response larger than 6 MB", ErrFunction))
	default:
		fe := newFunctionError(body)
		w.pool.log.Error("handler returned an error", "worker", w.n, "requestId", id, "error", fe.Error())
		inv.finish(nil, fmt.Errorf("%w: %w", ErrFunction, fe))
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusAccepted)
	io.WriteString(rw, `{"status":"OK"}`)
}

// tailWriter forwards a process's output line by line with a prefix and
// keeps its last lines for init error messages.
type tailWriter struct {
	out    io.Writer
	prefix string
	keep   int

	mu    sync.Mutex
	buf   []byte
	lines []string
}

func newTailWriter(out io.Writer, prefix string, keep int) *tailWriter {
	return &tailWriter{out: out, prefix: prefix, keep: keep}
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			break
		}
		t.emit(string(t.buf[:i]))
		t.buf = t.buf[i+1:]
	}
	if len(t.buf) > 64<<10 { // a very long line without newline
		t.emit(string(t.buf))
		t.buf = t.buf[:0]
	}
	return len(b), nil
}

func (t *tailWriter) emit(line string) {
	fmt.Fprintf(t.out, "%s%s\n", t.prefix, line)
	t.lines = append(t.lines, line)
	if len(t.lines) > t.keep {
		t.lines = t.lines[len(t.lines)-t.keep:]
	}
}

func (t *tailWriter) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) > 0 {
		t.emit(string(t.buf))
		t.buf = nil
	}
}

func (t *tailWriter) lastLines() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
