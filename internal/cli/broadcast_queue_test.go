package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/sqstest"
)

// queueReport is what `lawcket broadcast --queue` prints.
type queueReport struct {
	Broadcast string `json:"broadcast"`
	Queue     string `json:"queue"`
	fanout.EnqueueReport
}

// TestBroadcastQueue runs `lawcket broadcast --queue` against a real
// SQS-compatible server (fauxqs), reached through AWS_ENDPOINT_URL_SQS as
// a user would: the job on the queue, and exit 1 with the report when a
// job is not enqueued.
func TestBroadcastQueue(t *testing.T) {
	endpoint := sqstest.Start(t)
	c := sqstest.Client(endpoint)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SQS": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_EC2_METADATA_DISABLED": "true", "LAWCKET_TABLE": "",
	} {
		t.Setenv(k, v)
	}
	spec := writeBroadcastSpec(t)
	run := func(args ...string) (int, queueReport, string) {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), append([]string{"broadcast", "-c", spec}, args...), strings.NewReader(""), &stdout, &stderr)
		var rep queueReport
		if stdout.Len() > 0 {
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("report %q: %v", stdout.String(), err)
			}
		}
		return code, rep, stderr.String()
	}

	t.Run("room", func(t *testing.T) {
		q := sqstest.CreateQueue(t, c, "jobs", nil)
		code, rep, stderr := run("--where", "room=lobby", "--data", `{"text":"hi"}`, "--rate", "100", "--queue", q.URL, "--name", "b-room")
		if code != ExitOK || rep.Broadcast != "b-room" || rep.Queue != q.URL || rep.Jobs != 1 || rep.Enqueued != 1 || len(rep.Messages) != 1 {
			t.Fatalf("exit %d, %+v\n%s", code, rep, stderr)
		}
		got := sqstest.ReceiveAll(t, c, q.URL, 10)
		if len(got) != 1 || aws.ToString(got[0].MessageId) != rep.Messages[0].MessageID {
			t.Fatalf("queue holds %d messages", len(got))
		}
		job, err := fanout.Decode([]byte(aws.ToString(got[0].Body)))
		if err != nil {
			t.Fatal(err)
		}
		want := fanout.Job{Broadcast: "b-room", Table: "Connections", Field: "room", Value: "lobby", Payload: []byte(`{"text":"hi"}`), Rate: 100}
		if a, b := mustJSON(t, job), mustJSON(t, want); a != b {
			t.Errorf("job %s, want %s", a, b)
		}
	})

	t.Run("refused", func(t *testing.T) {
		q := sqstest.CreateQueue(t, c, "small", map[string]string{"MaximumMessageSize": "1024"})
		code, rep, stderr := run("--all", "--segments", "3", "--data", strings.Repeat("x", 2000), "--queue", q.URL)
		if code != ExitFindings || rep.Enqueued != 0 || rep.Failed != 3 || len(rep.Failures) != 3 || rep.Failures[0].Code != "InvalidParameterValue" ||
			!rep.Failures[0].SenderFault || !strings.Contains(stderr, "3 of 3 jobs not enqueued") {
			t.Errorf("exit %d, %+v\n%s", code, rep, stderr)
		}
	})

	t.Run("no such queue", func(t *testing.T) {
		q := sqstest.CreateQueue(t, c, "exists", nil)
		code, rep, stderr := run("--all", "--data", "x", "--queue", q.URL+"-not")
		if code != ExitFindings || rep.Failed != 1 || rep.Failures[0].Ambiguous || !strings.Contains(stderr, "does not exist") {
			t.Errorf("exit %d, %+v\n%s", code, rep, stderr)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
