package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

const channelsCLISpec = lawckettest.RoomSpec + `channels:
  table: Subs
  namespaces:
    rooms:
      presence:
        member: user
        fields: [user]
`

// subscribe stores a subscription item as the channels package lays it out.
func subscribe(t *testing.T, c *dynamodb.Client, path, id, member string) {
	t.Helper()
	sk := id
	item := map[string]types.AttributeValue{}
	if member != "" {
		sk = "m#" + base64.RawURLEncoding.EncodeToString([]byte(member)) + "#" + id
		item[channels.AttrFields] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"user": &types.AttributeValueMemberS{Value: member}}}
	}
	for k, v := range map[string]string{channels.AttrChannel: path, channels.AttrSubscriber: sk, channels.AttrConnectionID: id, channels.AttrDomainName: "abc.execute-api.us-east-1.amazonaws.com", channels.AttrStage: "prod"} {
		item[k] = &types.AttributeValueMemberS{Value: v}
	}
	item[channels.AttrExpiresAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("Subs"), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func channelsEnv(t *testing.T) (string, *dynamodb.Client) {
	path := filepath.Join(t.TempDir(), "lawcket.yaml")
	writeFile(t, path, channelsCLISpec)
	c := broadcastEnv(t, path, map[string]string{"ann-1": "r", "ann-2": "r", "bob": "r", "gone-1": "r"})
	// Connected an hour ago: a 410 within channels.EstablishWindow of the
	// connect is not taken as gone.
	out, err := c.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("Connections")})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range out.Items {
		item["connectedAt"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10)}
		if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("Connections"), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := syncspec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dynalitetest.CreateTable(t, c, channels.TableDefinition(spec, ""))
	subscribe(t, c, "/rooms/lobby", "ann-1", "ann")
	subscribe(t, c, "/rooms/lobby", "ann-2", "ann")
	subscribe(t, c, "/rooms/lobby", "bob", "bob")
	subscribe(t, c, "/rooms/lobby", "gone-1", "ghost")
	subscribe(t, c, "/rooms/*", "bob", "")
	subscribe(t, c, "/rooms/other", "gone-1", "ghost")
	subscribe(t, c, "/rooms/other", "gone-2", "orphan") // no row
	return path, c
}

func TestPresenceCommand(t *testing.T) {
	spec, _ := channelsEnv(t)
	code, stdout, stderr := run(t, "", "presence", "-c", spec, "/rooms/lobby")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var pr channels.Presence
	if err := json.Unmarshal([]byte(stdout), &pr); err != nil {
		t.Fatal(err)
	}
	if pr.Count != 3 || pr.Connections != 4 || pr.Members[0].Key != "ann" || len(pr.Members[0].Connections) != 2 || pr.Members[0].Fields["user"] != "ann" {
		t.Fatalf("presence = %+v; want ann (2 tabs), bob, ghost", pr)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"presence", "-c", spec}, ExitUsage, "missing CHANNEL"},
		{[]string{"presence", "-c", spec, "rooms"}, ExitUsage, "must start with /"},
		{[]string{"presence", "-c", spec, "/news/x"}, ExitUsage, "unknown namespace"},
		{[]string{"presence", "-c", spec, "/rooms/*"}, ExitUsage, "wildcard"},
		{[]string{"presence", "-c", spec, "/rooms/a", "extra"}, ExitUsage, "unexpected argument"},
	} {
		code, _, stderr := run(t, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

func TestBroadcastChannel(t *testing.T) {
	spec, c := channelsEnv(t)
	api := newCLIMgmtAPI(t)
	code, stdout, stderr := run(t, "", "broadcast", "-c", spec, "--channel", "/rooms/lobby", "--data", `{"text":"hi"}`, "--endpoint", api.URL+"/{stage}")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	rep := decodeReport(t, stdout)
	// ann-1, ann-2, bob (twice: /rooms/lobby and /rooms/*), gone-1 answers 410.
	if rep["sent"] != float64(4) || rep["gone"] != float64(1) || rep["deleted"] != float64(1) {
		t.Fatalf("report %s", stdout)
	}
	data, leaves := 0, 0
	for _, f := range api.got("bob") {
		data += strings.Count(f, `"type":"data","channel":"/rooms/lobby"`)
		leaves += strings.Count(f, `"type":"leave","channel":"/rooms/lobby","member":{"key":"ghost"`)
	}
	if data != 2 || leaves != 1 {
		t.Fatalf("bob got %q; want two data frames (one per subscription) and ghost's leave", api.got("bob"))
	}
	if rowStored(t, c, "Connections", "gone-1") {
		t.Fatal("gone-1's row survived its 410")
	}
	code, _, stderr = run(t, "", "broadcast", "-c", spec, "--channel", "/rooms/lobby", "--all", "--data", `{}`)
	if code != ExitUsage || !strings.Contains(stderr, "excludes") {
		t.Fatalf("--channel with --all: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, "", "broadcast", "-c", spec, "--channel", "/rooms/lobby", "--data", `not json`)
	if code != ExitUsage || !strings.Contains(stderr, "JSON") {
		t.Fatalf("non-JSON --data: exit %d, %q", code, stderr)
	}
}

func TestSweepCommand(t *testing.T) {
	spec, c := channelsEnv(t)
	api := lawckettest.NewServer()
	t.Cleanup(api.Close)
	api.Gone("gone-1", "gone-2")

	code, stdout, stderr := run(t, "", "sweep", "-c", spec, "--endpoint", api.URL+"/{stage}", "--rate", "500")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	var rep channels.SweepReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	// The alive connections stay; gone-1 (row and subscriptions) and gone-2
	// (subscriptions without a row) are removed. How gone-2 is found
	// depends on the order of the sweep's passes: the leave frame of
	// ghost's departure from /rooms/other may reach it (410) first.
	if rep.Alive != 3 || rep.Failed != 0 || rep.RowsDeleted != 1 || !strings.Contains(strings.Join(rep.Removed, ","), "gone-1") {
		t.Fatalf("sweep report %s", stdout)
	}
	if rowStored(t, c, "Connections", "gone-1") || !rowStored(t, c, "Connections", "bob") {
		t.Fatal("sweep removed the wrong rows")
	}
	out, err := c.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("Subs")})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, item := range out.Items {
		left = append(left, item[channels.AttrConnectionID].(*types.AttributeValueMemberS).Value+" "+item[channels.AttrChannel].(*types.AttributeValueMemberS).Value)
	}
	sort.Strings(left)
	if got := strings.Join(left, ", "); got != "ann-1 /rooms/lobby, ann-2 /rooms/lobby, bob /rooms/*, bob /rooms/lobby" {
		t.Errorf("subscriptions after the sweep: %s", got)
	}
	// One signed GetConnection per connection checked; the lobby's members
	// are told that ghost (gone-1) left.
	gets := 0
	for _, r := range api.Requests() {
		if !r.Signed || r.Stage != "prod" {
			t.Errorf("sweep sent %+v; want signed requests to the stage prod", r)
		}
		if r.Method == http.MethodGet {
			gets++
		}
	}
	if gets != rep.Checked {
		t.Errorf("%d GetConnection requests for %d connections checked", gets, rep.Checked)
	}
	for _, id := range []string{"ann-1", "ann-2", "bob"} {
		if got := api.Delivered(id); len(got) != 1 || !strings.Contains(string(got[0]), `"type":"leave","channel":"/rooms/lobby","member":{"key":"ghost"`) {
			t.Errorf("%s received %q; want ghost's leave of /rooms/lobby", id, got)
		}
	}
	code, _, stderr = run(t, "", "sweep", "-c", spec, "--rate", "0")
	if code != ExitUsage || !strings.Contains(stderr, "--rate") {
		t.Fatalf("--rate 0: exit %d %q", code, stderr)
	}
}
