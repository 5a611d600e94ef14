package devgw_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/devgw"
)

// fakeSigV4 is an Authorization header shaped like the SDK's; the gateway
// checks the shape, not the signature.
const fakeSigV4 = "AWS4-HMAC-SHA256 Credential=local/20261201/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=" +
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// signedPost posts body to url with a SigV4-shaped Authorization header.
func signedPost(url, contentType, body string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", fakeSigV4)
	return http.DefaultClient.Do(req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestForeignHostRefused(t *testing.T) {
	g, out := start(t, devgw.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A DNS-rebinding page reaches 127.0.0.1 under its own name.
	h := http.Header{"Host": {"evil.example:8080"}}
	_, resp, err := websocket.Dial(ctx, g.URL(), &websocket.DialOptions{HTTPHeader: h, Host: "evil.example:8080"})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign Host: %v %v, want 403", resp, err)
	}
	req, _ := http.NewRequest(http.MethodPost, g.ManagementEndpoint()+"/@connections/L0SM9cOFvHcCIhw=", strings.NewReader("x"))
	req.Host = "evil.example"
	req.Header.Set("Authorization", fakeSigV4)
	if code, _ := do(t, req); code != http.StatusForbidden {
		t.Errorf("Management API under a foreign Host: %d, want 403", code)
	}
	if strings.Contains(out.String(), "msg=connected") {
		t.Errorf("a connection was accepted:\n%s", out)
	}
	// Loopback names are served.
	for _, host := range []string{"localhost", "127.0.0.1", "127.0.0.2"} {
		_, port, _ := strings.Cut(g.Addr(), ":")
		c, _, err := websocket.Dial(ctx, g.URL(), &websocket.DialOptions{Host: host + ":" + port})
		if err != nil {
			t.Errorf("Host %s: %v", host, err)
			continue
		}
		c.CloseNow()
	}
}

func TestForeignOriginRefused(t *testing.T) {
	g, _ := start(t, devgw.Config{AllowOrigins: []string{"http://localhost:5173"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialFrom := func(origin string) (*http.Response, error) {
		c, resp, err := websocket.Dial(ctx, g.URL(), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if err == nil {
			c.CloseNow()
		}
		return resp, err
	}
	for _, origin := range []string{"https://evil.example", "null", "http://127.0.0.1:1"} {
		if resp, err := dialFrom(origin); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %s: %v %v, want 403", origin, resp, err)
		}
	}
	for _, origin := range []string{"http://" + g.Addr(), "http://localhost:5173"} {
		if _, err := dialFrom(origin); err != nil {
			t.Errorf("Origin %s refused: %v", origin, err)
		}
	}

	// A page on another site posting text/plain (no preflight) to a
	// victim's connection is refused, signed or not.
	c := dial(t, g.URL())
	id := connectEvent(t, c).RequestContext.ConnectionID
	for _, auth := range []string{"", fakeSigV4} {
		req, _ := http.NewRequest(http.MethodPost, g.ManagementEndpoint()+"/@connections/"+id, strings.NewReader("pwned"))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", "https://evil.example")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if code, _ := do(t, req); code != http.StatusForbidden {
			t.Errorf("cross-origin text/plain POST (auth %v): %d, want 403", auth != "", code)
		}
	}
}

func TestManagementAPINeedsSignature(t *testing.T) {
	g, _ := start(t, devgw.Config{})
	c := dial(t, g.URL())
	id := connectEvent(t, c).RequestContext.ConnectionID
	url := g.ManagementEndpoint() + "/@connections/" + id
	for _, auth := range []string{"", "Bearer x", "AWS4-HMAC-SHA256 Credential=x"} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("x"))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if code, body := do(t, req); code != http.StatusForbidden || !strings.Contains(body, "Missing Authentication Token") {
			t.Errorf("Authorization %q: %d %s, want 403", auth, code, body)
		}
	}
	resp, err := signedPost(url, "application/json", `"signed"`)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("signed post: %d", resp.StatusCode)
	}
	// (The real SDK client signs: TestManagementAPI uses it throughout.)
}

func TestStaticFilesConfined(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>home</p>"), 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("SECRET=1"), 0o644)
	os.Mkdir(filepath.Join(dir, "assets"), 0o755)
	os.WriteFile(filepath.Join(dir, "assets", "app.js"), []byte("app()"), 0o644)
	os.Mkdir(filepath.Join(dir, ".git"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "config"), []byte("[core]"), 0o644)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	os.Symlink("assets/app.js", filepath.Join(dir, "inside.js")) // stays in the root: served
	g, _ := start(t, devgw.Config{StaticDir: dir})
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, g.StaticURL()+strings.TrimPrefix(path, "/"), nil)
		return do(t, req)
	}
	for path, want := range map[string]int{
		"/": 200, "/index.html": 200, "/assets/app.js": 200, "/inside.js": 200,
		"/.env": 404, "/.git/config": 404, "/assets/": 404, "/assets": 404,
		"/passwd": 404, "/../../../../etc/passwd": 404, "/%2e%2e/%2e%2e/etc/passwd": 404, "/missing": 404,
	} {
		code, body := get(path)
		if code != want {
			t.Errorf("GET %s: %d, want %d (%.60q)", path, code, want, body)
		}
		if strings.Contains(body, "root:") || strings.Contains(body, "SECRET") || strings.Contains(body, "app.js</a>") {
			t.Errorf("GET %s served %.60q", path, body)
		}
	}
	if _, body := get("/"); body != "<p>home</p>" {
		t.Errorf("GET / = %q", body)
	}
}
