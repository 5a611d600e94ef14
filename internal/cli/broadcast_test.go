package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/sqstest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// writeBroadcastSpec writes lawckettest.RoomSpec to a temporary lawcket.yaml.
func writeBroadcastSpec(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lawcket.yaml")
	writeFile(t, path, lawckettest.RoomSpec)
	return path
}

func TestBroadcastUsage(t *testing.T) {
	spec := writeBroadcastSpec(t)
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"neither where nor all", []string{"-c", spec, "--data", "x"}, "--where FIELD=VALUE or --all"},
		{"both where and all", []string{"-c", spec, "--where", "room=r1", "--all", "--data", "x"}, "exclude each other"},
		{"where without =", []string{"-c", spec, "--where", "room", "--data", "x"}, "want FIELD=VALUE"},
		{"where without field", []string{"-c", spec, "--where", "=r1", "--data", "x"}, "want FIELD=VALUE"},
		{"where without value", []string{"-c", spec, "--where", "room=", "--data", "x"}, "value is empty"},
		{"where on a field without index", []string{"-c", spec, "--where", "user=bob", "--data", "x"}, "not an index: true field"},
		{"missing data", []string{"-c", spec, "--all"}, "--data is required"},
		{"empty data", []string{"-c", spec, "--all", "--data", ""}, "payload is empty"},
		{"data file missing", []string{"-c", spec, "--all", "--data", "@" + filepath.Join(t.TempDir(), "nope.json")}, "no such file"},
		{"data @ alone", []string{"-c", spec, "--all", "--data", "@"}, "needs a file name"},
		{"concurrency 0", []string{"-c", spec, "--all", "--data", "x", "--concurrency", "0"}, "at least 1"},
		{"concurrency not a number", []string{"-c", spec, "--all", "--data", "x", "--concurrency", "many"}, "invalid value"},
		{"bad endpoint", []string{"-c", spec, "--all", "--data", "x", "--endpoint", "ftp://example.com"}, "--endpoint"},
		{"stray argument", []string{"-c", spec, "--all", "--data", "x", "extra"}, "unexpected argument"},
		{"negative rate", []string{"-c", spec, "--all", "--data", "x", "--rate", "-5"}, "--rate"},
		{"segments 0", []string{"-c", spec, "--all", "--data", "x", "--segments", "0"}, "--segments 0"},
		{"segments of a query", []string{"-c", spec, "--where", "room=r1", "--data", "x", "--segments", "2"}, "--segments needs --all"},
		{"name without queue", []string{"-c", spec, "--all", "--data", "x", "--name", "b1"}, "--name needs --queue"},
		{"queue not a URL", []string{"-c", spec, "--all", "--data", "x", "--queue", "jobs"}, "want the queue URL"},
		{"queue with endpoint", []string{"-c", spec, "--all", "--data", "x", "--queue", "https://q", "--endpoint", "https://e/{stage}"}, "the workers' setting"},
		{"queue with concurrency", []string{"-c", spec, "--all", "--data", "x", "--queue", "https://q", "--concurrency", "4"}, "the workers' setting"},
		{"plan auto without queue", []string{"-c", spec, "--all", "--data", "x", "--plan", "auto"}, "--plan auto needs --queue URL"},
		{"plan queue without queue", []string{"-c", spec, "--all", "--data", "x", "--plan", "queue"}, "--plan queue needs --queue URL"},
		{"plan unknown", []string{"-c", spec, "--all", "--data", "x", "--plan", "cloud"}, "must be one of auto, local, queue"},
		{"plan with channel", []string{"-c", spec, "--channel", "/rooms/r1", "--data", "{}", "--plan", "local"}, "not --channel"},
		{"local-max without auto", []string{"-c", spec, "--all", "--data", "x", "--local-max", "5"}, "--local-max needs --plan auto"},
		{"local-max with queue plan", []string{"-c", spec, "--all", "--data", "x", "--queue", "https://q", "--local-max", "5"}, "--local-max needs --plan auto"},
		{"local-max negative", []string{"-c", spec, "--all", "--data", "x", "--queue", "https://q", "--plan", "auto", "--local-max", "-1"}, "--local-max -1"},
		{"local-max 0", []string{"-c", spec, "--all", "--data", "x", "--queue", "https://q", "--plan", "auto", "--local-max", "0"}, "--local-max 0: want 1 or more"},
		{"queue where on a field without index", []string{"-c", spec, "--where", "user=bob", "--data", "x", "--queue", "https://q"}, "not an index: true field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", append([]string{"broadcast"}, tt.args...)...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", stderr, tt.want)
			}
			if !strings.Contains(stderr, "usage: lawcket broadcast") {
				t.Errorf("stderr has no usage line: %q", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestBroadcastHelp(t *testing.T) {
	code, stdout, stderr := run(t, "", "broadcast", "-h")
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"usage: lawcket broadcast", "-where", "-all", "-data", "-endpoint", "-concurrency", "-rate", "-segments", "-exclude", "-api-id", `"sent"`, `"ambiguous"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help does not mention %s:\n%s", want, stdout)
		}
	}
}

func TestBroadcastBadSpec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lawcket.yaml")
	writeFile(t, path, "table: T\nfields:\n  connectionId: x\n")
	code, stdout, stderr := run(t, "", "broadcast", "-c", path, "--all", "--data", "x")
	if code != ExitFindings || stdout != "" || !strings.Contains(stderr, "lawcket.yaml:3:") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// cliMgmtAPI is a local Management API answering by id prefix (gone- 410,
// big- 413, else 200) like API Gateway, and recording the posts.
type cliMgmtAPI struct {
	*httptest.Server
	mu    sync.Mutex
	posts map[string][]string // id → bodies
	paths []string            // the endpoint path of every post
}

func newCLIMgmtAPI(t *testing.T) *cliMgmtAPI {
	m := &cliMgmtAPI{posts: map[string][]string{}}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, raw, ok := strings.Cut(r.URL.EscapedPath(), "/@connections/")
		id, err := url.PathUnescape(raw)
		if !ok || err != nil || r.Method != http.MethodPost || r.Header.Get("Authorization") == "" {
			w.Header().Set("x-amzn-ErrorType", "BadRequestException")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"message":"bad request"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		m.posts[id] = append(m.posts[id], string(body))
		m.paths = append(m.paths, prefix)
		m.mu.Unlock()
		switch {
		case strings.HasPrefix(id, "gone-"):
			w.Header().Set("x-amzn-ErrorType", "GoneException")
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, `{"message":null}`)
		case strings.HasPrefix(id, "big-"):
			w.Header().Set("x-amzn-ErrorType", "PayloadTooLargeException")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			fmt.Fprint(w, `{"message":"Message too long"}`)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *cliMgmtAPI) got(id string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.posts[id]
}

// broadcastEnv starts dynalite with the spec's table holding rows (id →
// room), points the default AWS config at it, and returns the raw client.
func broadcastEnv(t *testing.T, specPath string, rows map[string]string) *dynamodb.Client {
	t.Helper()
	endpoint := dynalitetest.Start(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("LAWCKET_MANAGEMENT_ENDPOINT", "")
	t.Setenv("LAWCKET_TABLE", "")

	spec, err := syncspec.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	c := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, c, dynamo.TableDefinition(spec, spec.Table))
	ctx := context.Background()
	for id, room := range rows {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(spec.Table), Item: map[string]types.AttributeValue{
			"connectionId": &types.AttributeValueMemberS{Value: id},
			"domainName":   &types.AttributeValueMemberS{Value: "abc.execute-api.us-east-1.amazonaws.com"},
			"stage":        &types.AttributeValueMemberS{Value: "prod"},
			"connectedAt":  &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().UnixMilli(), 10)},
			"expiresAt":    &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)},
			"room":         &types.AttributeValueMemberS{Value: room},
		}})
		if err != nil {
			t.Fatalf("PutItem: %v", err)
		}
	}
	return c
}

// rowStored says whether the table holds id's row.
func rowStored(t *testing.T, c *dynamodb.Client, table, id string) bool {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	return out.Item != nil
}

// decodeReport decodes the one JSON object broadcast prints.
func decodeReport(t *testing.T, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var rep map[string]any
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON value:\n%s", stdout)
	}
	return rep
}

func TestBroadcastRoom(t *testing.T) {
	spec := writeBroadcastSpec(t)
	c := broadcastEnv(t, spec, map[string]string{
		"live-1": "r1", "live-2": "r1", "gone-1": "r1", "sender": "r1",
		"live-3": "r2", "gone-2": "r2",
	})
	api := newCLIMgmtAPI(t)

	code, stdout, stderr := run(t, "", "broadcast", "-c", spec, "--where", "room=r1", "--data", `{"text":"hi"}`,
		"--endpoint", api.URL+"/{apiId}/{stage}", "--api-id", "abc", "--exclude", "sender", "--concurrency", "4")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	rep := decodeReport(t, stdout)
	for k, want := range map[string]float64{"sent": 2, "gone": 1, "deleted": 1, "failed": 0} {
		if rep[k] != want {
			t.Errorf("%s = %v, want %v (%s)", k, rep[k], want, stdout)
		}
	}
	for id, want := range map[string]int{"live-1": 1, "live-2": 1, "gone-1": 1, "sender": 0, "live-3": 0, "gone-2": 0} {
		if got := api.got(id); len(got) != want || (want == 1 && got[0] != `{"text":"hi"}`) {
			t.Errorf("posts to %s = %q, want %d", id, got, want)
		}
	}
	api.mu.Lock()
	for _, p := range api.paths {
		if p != "/abc/prod" {
			t.Errorf("posted to %s/@connections, want /abc/prod", p)
		}
	}
	api.mu.Unlock()
	if rowStored(t, c, "Connections", "gone-1") {
		t.Error("gone-1 was not deleted")
	}
	for _, id := range []string{"live-1", "live-2", "sender", "live-3", "gone-2"} {
		if !rowStored(t, c, "Connections", id) {
			t.Errorf("%s was deleted", id)
		}
	}
}

func TestBroadcastAllFailures(t *testing.T) {
	spec := writeBroadcastSpec(t)
	broadcastEnv(t, spec, map[string]string{"live-1": "r1", "big-1": "r2", "gone-1": "r2"})
	api := newCLIMgmtAPI(t)
	// The endpoint from the environment; the payload from a file.
	t.Setenv("LAWCKET_MANAGEMENT_ENDPOINT", api.URL+"/{stage}")
	data := filepath.Join(t.TempDir(), "payload.json")
	writeFile(t, data, `{"n":1}`)

	code, stdout, stderr := run(t, "", "broadcast", "-c", spec, "--all", "--data", "@"+data)
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d (stderr %q)", code, ExitFindings, stderr)
	}
	rep := decodeReport(t, stdout)
	for k, want := range map[string]float64{"sent": 1, "gone": 1, "deleted": 1, "failed": 1} {
		if rep[k] != want {
			t.Errorf("%s = %v, want %v (%s)", k, rep[k], want, stdout)
		}
	}
	failures, _ := rep["failures"].([]any)
	if len(failures) != 1 {
		t.Fatalf("failures = %v", rep["failures"])
	}
	f := failures[0].(map[string]any)
	if f["connectionId"] != "big-1" || f["op"] != "post" || !strings.Contains(f["error"].(string), "413") {
		t.Errorf("failure = %v", f)
	}
	if got := api.got("live-1"); len(got) != 1 || got[0] != `{"n":1}` {
		t.Errorf("live-1 got %q", got)
	}

	// The payload from stdin.
	code, stdout, stderr = run(t, "from stdin", "broadcast", "-c", spec, "--where", "room=r1", "--data", "@-")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if got := api.got("live-1"); len(got) != 2 || got[1] != "from stdin" {
		t.Errorf("live-1 got %q", got)
	}
	if rep := decodeReport(t, stdout); rep["sent"] != 1.0 {
		t.Errorf("report %v", rep)
	}
}

func TestBroadcastInterrupted(t *testing.T) {
	spec := writeBroadcastSpec(t)
	broadcastEnv(t, spec, map[string]string{"live-1": "r1"})
	api := newCLIMgmtAPI(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as after Ctrl-C
	var stdout, stderr strings.Builder
	code := Main(ctx, []string{"broadcast", "-c", spec, "--all", "--data", "x", "--endpoint", api.URL + "/{stage}"}, strings.NewReader(""), &stdout, &stderr)
	if code != ExitFindings {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if rep := decodeReport(t, stdout.String()); rep["sent"] != 0.0 {
		t.Errorf("report %v", rep)
	}
	if !strings.Contains(stderr.String(), "stopped early") {
		t.Errorf("stderr %q", stderr.String())
	}
	if got := api.got("live-1"); len(got) != 0 {
		t.Errorf("posted after the interruption: %q", got)
	}
}

// TestBroadcastSegments: --all --segments N reads the table as N parallel
// Scan segments; every row is posted to exactly once and the reports add up.
func TestBroadcastSegments(t *testing.T) {
	spec := writeBroadcastSpec(t)
	rows := map[string]string{"gone-1": "r1", "gone-2": "r2"}
	for i := range 30 {
		rows[fmt.Sprintf("live-%02d", i)] = fmt.Sprintf("r%d", i%3)
	}
	broadcastEnv(t, spec, rows)
	api := newCLIMgmtAPI(t)
	code, stdout, stderr := run(t, "", "broadcast", "-c", spec, "--all", "--segments", "3", "--rate", "300", "--data", "x", "--endpoint", api.URL+"/{stage}")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	rep := decodeReport(t, stdout)
	for k, want := range map[string]float64{"sent": 30, "gone": 2, "deleted": 2, "failed": 0, "attempts": 32, "retries": 0, "rate": 300} {
		if rep[k] != want {
			t.Errorf("%s = %v, want %v (%s)", k, rep[k], want, stdout)
		}
	}
	for id := range rows {
		if got := api.got(id); len(got) != 1 {
			t.Errorf("posts to %s = %d, want 1", id, len(got))
		}
	}
}

// deadQueue returns an SQS endpoint URL where nothing listens (a port just
// closed) and points the default AWS configuration's SQS at it.
func deadQueue(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	t.Setenv("AWS_ENDPOINT_URL_SQS", endpoint)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	return endpoint + "/000000000000/jobs"
}

// TestBroadcastPlanAuto: --plan auto counts the rows and runs up to
// --local-max here (the queue is not contacted: nothing listens there),
// and goes to the queue from --local-max + 1 (where the enqueue then fails,
// reported as such); the decision is in the report and on stderr.
func TestBroadcastPlanAuto(t *testing.T) {
	spec := writeBroadcastSpec(t)
	broadcastEnv(t, spec, map[string]string{"a-1": "r1", "a-2": "r1", "a-3": "r1", "b-1": "r2", "b-2": "r2", "b-3": "r2"})
	api := newCLIMgmtAPI(t)
	queue := deadQueue(t)

	code, stdout, stderr := run(t, "", "broadcast", "-c", spec, "--where", "room=r1", "--data", "x", "--endpoint", api.URL+"/{stage}",
		"--queue", queue, "--plan", "auto", "--local-max", "3", "--concurrency", "2")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	rep := decodeReport(t, stdout)
	plan, _ := rep["plan"].(map[string]any)
	if rep["sent"] != 3.0 || plan["asked"] != "auto" || plan["mode"] != "local" || plan["rows"] != 3.0 || plan["estimate"] != "exact" || plan["segments"] != 1.0 {
		t.Errorf("report %s", stdout)
	}
	if !strings.Contains(stderr, "lawcket broadcast: plan: local: 3 rows in room=r1, at most the local max 3") {
		t.Errorf("stderr %q", stderr)
	}
	for _, id := range []string{"a-1", "a-2", "a-3"} {
		if len(api.got(id)) != 1 {
			t.Errorf("%s got %d posts", id, len(api.got(id)))
		}
	}

	code, stdout, stderr = run(t, "", "broadcast", "-c", spec, "--all", "--data", "x", "--queue", queue, "--plan", "auto", "--local-max", "5", "--rate", "4000")
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d: stderr %q", code, ExitFindings, stderr)
	}
	rep = decodeReport(t, stdout)
	plan, _ = rep["plan"].(map[string]any)
	if plan["mode"] != "queue" || plan["rows"] != 6.0 || plan["estimate"] != "more than" || plan["segments"] != 3.0 || rep["jobs"] != 3.0 || rep["failed"] != 3.0 {
		t.Errorf("report %s", stdout)
	}
	if !strings.Contains(stderr, "plan: queue: more than the local max 5 rows in table Connections (the count stopped at 6)") || !strings.Contains(stderr, "3 of 3 jobs not enqueued") {
		t.Errorf("stderr %q", stderr)
	}
	if n := len(api.got("b-1")); n != 0 {
		t.Errorf("b-1 posted to %d times by a queued broadcast", n)
	}
}

// TestBroadcastPlanCountFails: when the count of --plan auto fails nothing
// is posted or enqueued, and the error says how to skip the count.
func TestBroadcastPlanCountFails(t *testing.T) {
	spec := writeBroadcastSpec(t)
	broadcastEnv(t, spec, map[string]string{"a-1": "r1"})
	t.Setenv("LAWCKET_TABLE", "Missing")
	api := newCLIMgmtAPI(t)
	code, stdout, stderr := run(t, "", "broadcast", "-c", spec, "--all", "--data", "x", "--endpoint", api.URL+"/{stage}", "--queue", deadQueue(t), "--plan", "auto")
	if code != ExitFindings || stdout != "" || !strings.Contains(stderr, "force a mode") || !strings.Contains(stderr, "table not found") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if len(api.got("a-1")) != 0 {
		t.Error("posted after a failed count")
	}
}

// TestBroadcastPlanAutoFauxqs: --plan auto against dynalite and a real
// SQS-compatible server (fauxqs): up to --local-max rows are posted here
// and the queue stays empty; from --local-max + 1 the planned segment jobs
// are on the queue, as the report says, and nothing is posted here.
func TestBroadcastPlanAutoFauxqs(t *testing.T) {
	spec := writeBroadcastSpec(t)
	broadcastEnv(t, spec, map[string]string{"a-1": "r1", "a-2": "r1", "a-3": "r1", "b-1": "r2", "b-2": "r2", "b-3": "r2"})
	endpoint := sqstest.Start(t)
	t.Setenv("AWS_ENDPOINT_URL_SQS", endpoint)
	c := sqstest.Client(endpoint)
	q := sqstest.CreateQueue(t, c, "jobs", nil)
	api := newCLIMgmtAPI(t)

	code, stdout, stderr := run(t, "", "broadcast", "-c", spec, "--all", "--data", "x", "--endpoint", api.URL+"/{stage}",
		"--queue", q.URL, "--plan", "auto", "--local-max", "6", "--rate", "4000")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	if rep := decodeReport(t, stdout); rep["sent"] != 6.0 || rep["plan"].(map[string]any)["mode"] != "local" {
		t.Errorf("6 rows, local max 6: %s", stdout)
	}
	if d := sqstest.QueueDepth(t, c, q.URL); d.Total() != 0 {
		t.Errorf("a local broadcast left %+v on the queue", d)
	}

	code, stdout, stderr = run(t, "", "broadcast", "-c", spec, "--all", "--data", "x", "--name", "b-auto",
		"--queue", q.URL, "--plan", "auto", "--local-max", "5", "--rate", "4000")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	rep := decodeReport(t, stdout)
	plan := rep["plan"].(map[string]any)
	if plan["mode"] != "queue" || plan["segments"] != 3.0 || rep["enqueued"] != 3.0 || rep["failed"] != 0.0 {
		t.Errorf("6 rows, local max 5: %s", stdout)
	}
	msgs := sqstest.ReceiveAll(t, c, q.URL, 10)
	if len(msgs) != 3 {
		t.Fatalf("%d messages on the queue, want 3", len(msgs))
	}
	segs := map[int]bool{}
	for _, m := range msgs {
		j, err := fanout.Decode([]byte(aws.ToString(m.Body)))
		if err != nil || j.Broadcast != "b-auto" || j.Segments != 3 || j.Rate < 1333 || j.Rate > 1334 || string(j.Payload) != "x" {
			t.Errorf("job %+v, %v", j, err)
		}
		segs[j.Segment] = true
	}
	if len(segs) != 3 {
		t.Errorf("segments %v, want 0, 1, 2", segs)
	}
	for _, id := range []string{"a-1", "b-3"} {
		if n := len(api.got(id)); n != 1 {
			t.Errorf("%s got %d posts, want the local run's 1", id, n)
		}
	}
}
