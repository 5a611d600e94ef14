package syncspec_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/syncspec"
)

const channelsSpec = `table: chat
ttl: 3h
env: [STAGE_NAME]
fields:
  user:
    expr: query.user ?? "anonymous"
  role:
    expr: authorizer.role ?? "guest"
channels:
  namespaces:
    rooms:
      subscribe: 'connection.user != "anonymous" && channel.segments[1] != "admin"'
      publish: true
      presence:
        member: user
        fields: [user, role]
    news:
      subscribe: authorizer.plan == "pro" || channel.path == "/news/free"
      shards: 4
    quiet:
`

func TestChannelsParse(t *testing.T) {
	spec, err := syncspec.Parse("lawcket.yaml", []byte(channelsSpec), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	c := spec.Channels
	if c == nil || c.Table != "chat-subscriptions" || c.TTL != 3*time.Hour || len(c.Namespaces) != 3 {
		t.Fatalf("channels = %+v; want 3 namespaces in chat-subscriptions with ttl 3h", c)
	}
	rooms, _ := c.Namespace("rooms")
	if rooms.Presence == nil || rooms.Presence.Member != "user" || strings.Join(rooms.Presence.Fields, ",") != "user,role" || rooms.Shards != 1 {
		t.Fatalf("rooms = %+v", rooms)
	}
	in := eval.RuleInput{Connection: map[string]any{"user": "ann"}, Path: "/rooms/lobby", Segments: []string{"rooms", "lobby"}}
	for _, tt := range []struct {
		name string
		rule *eval.Rule
		in   eval.RuleInput
		want bool
	}{
		{"rooms subscribe", rooms.Subscribe, in, true},
		{"rooms subscribe admin", rooms.Subscribe, eval.RuleInput{Connection: map[string]any{"user": "ann"}, Path: "/rooms/admin", Segments: []string{"rooms", "admin"}}, false},
		{"rooms subscribe anonymous", rooms.Subscribe, eval.RuleInput{Connection: map[string]any{"user": "anonymous"}, Path: "/rooms/x", Segments: []string{"rooms", "x"}}, false},
		{"rooms publish", rooms.Publish, in, true},
		{"news pro", c.Namespaces[1].Subscribe, eval.RuleInput{Authorizer: map[string]any{"plan": "pro"}, Path: "/news/sports", Segments: []string{"news", "sports"}}, true},
		{"news free", c.Namespaces[1].Subscribe, eval.RuleInput{Path: "/news/free", Segments: []string{"news", "free"}}, true},
		{"news denied", c.Namespaces[1].Subscribe, eval.RuleInput{Path: "/news/sports", Segments: []string{"news", "sports"}}, false},
		{"quiet subscribe default", c.Namespaces[2].Subscribe, in, true},
		{"quiet publish default", c.Namespaces[2].Publish, in, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rule.Allow(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("Allow = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if !rooms.Subscribe.UsesConnection() || c.Namespaces[1].Subscribe.UsesConnection() {
		t.Fatal("UsesConnection: want true for rooms (connection.user), false for news")
	}
	if c.Namespaces[1].Shards != 4 {
		t.Fatalf("news shards = %d", c.Namespaces[1].Shards)
	}
}

func TestChannelsDefaults(t *testing.T) {
	spec, err := syncspec.Parse("lawcket.yaml", []byte("table: tt1\nchannels:\n  namespaces:\n    a: {}\n"),
		syncspec.WithLookupEnv(envOf(syncspec.EnvSubscriptionsTable, "subs-from-env")))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Channels.Table != "subs-from-env" || spec.Channels.TTL != syncspec.DefaultChannelTTL {
		t.Fatalf("channels = %+v; want the env table and the default ttl", spec.Channels)
	}
	spec, err = syncspec.Parse("lawcket.yaml", []byte("table: tt1\n"), syncspec.WithLookupEnv(noEnv))
	if err != nil || spec.Channels != nil {
		t.Fatalf("a spec without channels: %+v, %v; want nil Channels", spec, err)
	}
}

func TestChannelsErrors(t *testing.T) {
	const bad = `table: chat
fields:
  user: { expr: query.user }
channels:
  tabel: x
  ttl: 5
  namespaces:
    rooms:
      subscribe: connection.usr == "x"
      publish: 'channel.path + 1'
      presence:
        member: usr
        fields: [user, user]
      shards: 100
    "bad name!": {}
    news:
      subscribe: [a]
      sharding: 2
    ok:
      subscribe: env.SECRET == "x"
`
	_, err := syncspec.Parse("lawcket.yaml", []byte(bad), syncspec.WithLookupEnv(noEnv))
	var errs syncspec.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v; want Errors", err)
	}
	got := err.Error()
	for _, want := range []string{
		"lawcket.yaml:5:3: channels.tabel: unknown key tabel (did you mean table?)",
		"lawcket.yaml:6:8: channels.ttl: invalid duration 5: a number needs a unit",
		"lawcket.yaml:9:29: channels.namespaces.rooms.subscribe: unknown field usr",
		"lawcket.yaml:10:",
		"channels.namespaces.rooms.publish:",
		"lawcket.yaml:12:17: channels.namespaces.rooms.presence.member: unknown field usr (did you mean user?)",
		"lawcket.yaml:13:24: channels.namespaces.rooms.presence.fields[1]: user is listed twice",
		"lawcket.yaml:14:15: channels.namespaces.rooms.shards: shards must be a whole number from 1 to 64",
		`lawcket.yaml:15:5: channels.namespaces.bad name!: invalid namespace name "bad name!"`,
		"lawcket.yaml:17:18: channels.namespaces.news.subscribe: subscribe must be true, false or an expression",
		"lawcket.yaml:18:7: channels.namespaces.news.sharding: unknown key sharding (allowed: subscribe, publish, presence, shards)",
		"channels.namespaces.ok.subscribe: env.SECRET is not allowlisted",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors do not contain %q:\n%s", want, got)
		}
	}
}
