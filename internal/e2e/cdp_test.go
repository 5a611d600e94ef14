package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// A tiny Chrome DevTools Protocol client, enough to drive the chat page like a
// person: open tabs, type into inputs, click buttons, read the DOM. It speaks
// CDP over github.com/coder/websocket, so the browser test needs no Node.

// chromiumFlags are the flags the headless browser runs with (as root in CI:
// hence --no-sandbox; the rest keep it off the network and quiet).
var chromiumFlags = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--disable-dev-shm-usage", // containers often have a small /dev/shm
	"--remote-debugging-port=0",
}

// findChromium returns the browser binary: $LAWCKET_CHROMIUM, or Debian's
// chromium on PATH. Without one the test skips, except under CI=true.
func findChromium(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("LAWCKET_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	testsupport.Missing(t, "e2e: chromium is not installed (apt-get install -y chromium)")
	return ""
}

// browser is a headless chromium with its DevTools HTTP endpoint.
type browser struct {
	http string // http://127.0.0.1:PORT
}

// startBrowser launches chromium with a fresh profile and stops it at cleanup.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	bin := findChromium(t)
	profile := t.TempDir()
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+profile, "about:blank")
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(t.TempDir(), "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: chromium forks helpers (zygote, renderers) that
	// must stop with it before the profile directory is removed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start chromium: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		logf.Close()
		// The helpers are killed with the group; give the kernel a moment to
		// reap them before t.TempDir removes the profile.
		for i := 0; i < 50 && syscall.Kill(-cmd.Process.Pid, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	// chromium writes the port it chose to DevToolsActivePort in the profile.
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err == nil {
			if port, _, ok := strings.Cut(string(data), "\n"); ok && port != "" {
				return &browser{http: "http://127.0.0.1:" + port}
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("e2e: chromium exited before DevTools was up:\n%s", lastLines(string(log), 20))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("e2e: chromium's DevToolsActivePort did not appear within 30s")
		}
	}
}

// tab opens a new tab, attaches to it and navigates to url.
func (b *browser) tab(ctx context.Context, t *testing.T, url string) *tab {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.http+"/json/new?about:blank", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("e2e: DevTools /json/new: %v", err)
	}
	defer resp.Body.Close()
	var target struct {
		ID                   string `json:"id"`
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&target); err != nil || target.WebSocketDebuggerURL == "" {
		t.Fatalf("e2e: DevTools /json/new: %s (%v)", resp.Status, err)
	}
	conn, _, err := websocket.Dial(ctx, target.WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatalf("e2e: attach to tab: %v", err)
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	p := &tab{conn: conn}
	// Navigate with CDP rather than through /json/new's query string, which
	// would cut a URL at its own "&".
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil || nav.ErrorText != "" {
		t.Fatalf("e2e: open %s: %v %s", url, err, nav.ErrorText)
	}
	return p
}

// tab is one page, driven with sequential CDP calls.
type tab struct {
	conn *websocket.Conn
	id   int
}

// call sends one CDP command and waits for its answer, skipping events.
func (p *tab) call(ctx context.Context, method string, params any, result any) error {
	p.id++
	req, err := json.Marshal(map[string]any{"id": p.id, "method": method, "params": params})
	if err != nil {
		return err
	}
	if err := p.conn.Write(ctx, websocket.MessageText, req); err != nil {
		return fmt.Errorf("cdp %s: %w", method, err)
	}
	for {
		_, data, err := p.conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("cdp %s: %w", method, err)
		}
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			return fmt.Errorf("cdp %s: %w", method, err)
		}
		if resp.ID != p.id {
			continue // an event
		}
		if resp.Error != nil {
			return fmt.Errorf("cdp %s: %s", method, resp.Error.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(resp.Result, result)
	}
}

// eval evaluates a JavaScript expression in the page and returns its value as
// JSON text.
func (p *tab) eval(ctx context.Context, expr string) (string, error) {
	var out struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &out)
	if err != nil {
		return "", err
	}
	if e := out.ExceptionDetails; e != nil {
		return "", fmt.Errorf("page: %s %s", e.Text, e.Exception.Description)
	}
	return string(out.Result.Value), nil
}

// text returns the textContent of the element matching selector.
func (p *tab) text(ctx context.Context, selector string) (string, error) {
	raw, err := p.eval(ctx, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, selector))
	if err != nil {
		return "", err
	}
	var s string
	err = json.Unmarshal([]byte(raw), &s)
	return s, err
}

// typeInto focuses the input matching selector, clears it and types text as
// keyboard input.
func (p *tab) typeInto(ctx context.Context, selector, text string) error {
	if _, err := p.eval(ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ""; e.focus(); return true })()`, selector)); err != nil {
		return err
	}
	return p.call(ctx, "Input.insertText", map[string]any{"text": text}, nil)
}

// click clicks the element matching selector.
func (p *tab) click(ctx context.Context, selector string) error {
	_, err := p.eval(ctx, fmt.Sprintf(`(() => { document.querySelector(%q).click(); return true })()`, selector))
	return err
}

// waitText polls the textContent of selector until it contains want.
func (p *tab) waitText(ctx context.Context, selector, want string) error {
	var last string
	for {
		s, err := p.text(ctx, selector)
		if err == nil && strings.Contains(s, want) {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%q", s)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never contained %q; last: %s", selector, want, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
