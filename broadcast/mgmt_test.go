package broadcast_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lawcket/lawcket/mgmt"
)

// mgmtAPI is a local API Gateway Management API: it answers
// POST /{stage}/@connections/{id} like API Gateway does, by the id's prefix:
//
//	gone-…   410 GoneException
//	thr2-…   429 LimitExceededException twice, then 200
//	thr-…    429 LimitExceededException, always
//	big-…    413 PayloadTooLargeException
//	err-…    500 InternalServerErrorException (after recording the post:
//	         the payload was delivered, the answer says otherwise)
//	hang-…   waits until the request is cancelled
//	…        200
//
// and records every post (id, stage, body).
type mgmtAPI struct {
	*httptest.Server
	latency time.Duration // added to every answer (a realistic round trip)

	mu    sync.Mutex
	posts []post
	count map[string]int
	// started is signalled (non-blocking) when a hang- post arrives.
	started chan string
}

type post struct {
	ID, Stage, Body string
}

func newMgmtAPI(t testing.TB, latency time.Duration) *mgmtAPI {
	t.Helper()
	m := &mgmtAPI{latency: latency, count: map[string]int{}, started: make(chan string, 1024)}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

func (m *mgmtAPI) serve(w http.ResponseWriter, r *http.Request) {
	// EscapedPath: connection ids may contain '=' and other reserved bytes.
	stage, rawID, ok := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "@connections/")
	if r.Method != http.MethodPost || !ok {
		apiError(w, http.StatusNotFound, "NotFoundException", "no route "+r.Method+" "+r.URL.Path)
		return
	}
	id, err := url.PathUnescape(rawID)
	if err != nil {
		apiError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	if r.Header.Get("Authorization") == "" {
		apiError(w, http.StatusForbidden, "ForbiddenException", "Missing Authentication Token")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	m.mu.Lock()
	m.posts = append(m.posts, post{ID: id, Stage: strings.TrimSuffix(stage, "/"), Body: string(body)})
	m.count[id]++
	n := m.count[id]
	m.mu.Unlock()

	if m.latency > 0 {
		time.Sleep(m.latency)
	}
	switch {
	case strings.HasPrefix(id, "gone-"):
		apiError(w, http.StatusGone, "GoneException", "")
	case strings.HasPrefix(id, "thr2-") && n <= 2, strings.HasPrefix(id, "thr-"):
		apiError(w, http.StatusTooManyRequests, "LimitExceededException", "Limit Exceeded")
	case strings.HasPrefix(id, "big-"):
		apiError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Message too long")
	case strings.HasPrefix(id, "err-"):
		apiError(w, http.StatusInternalServerError, "InternalServerErrorException", "Internal server error")
	case strings.HasPrefix(id, "hang-"):
		select {
		case m.started <- id:
		default:
		}
		<-r.Context().Done()
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// apiError answers like API Gateway: the error type in x-amzn-ErrorType and
// a JSON body {"message": …} (null for GoneException).
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(status)
	if msg == "" {
		fmt.Fprint(w, `{"message":null}`)
		return
	}
	fmt.Fprintf(w, `{"message":%q}`, msg)
}

// postsTo is how many times id was posted to.
func (m *mgmtAPI) postsTo(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count[id]
}

// all returns every post so far.
func (m *mgmtAPI) all() []post {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]post(nil), m.posts...)
}

// awsEnv gives the default AWS config static credentials and a region, and
// keeps it off the network (no IMDS, no shared files).
func awsEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("LAWCKET_MANAGEMENT_ENDPOINT", "")
}

// newClient is the Management API client a broadcast uses, posting to m:
// the real *mgmt.Client, its endpoint built per row from the row's
// domainName and stage through the template's placeholders (rows carry m's
// host as their domainName).
func newClient(t testing.TB) *mgmt.Client {
	t.Helper()
	awsEnv(t)
	c, err := mgmt.New(mgmt.WithEndpoint("http://{domainName}/{stage}"))
	if err != nil {
		t.Fatalf("mgmt.New: %v", err)
	}
	return c
}

// host is the domainName rows carry so that posts reach m.
func (m *mgmtAPI) host() string { return strings.TrimPrefix(m.URL, "http://") }
