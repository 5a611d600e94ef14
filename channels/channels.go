package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/syncspec"
)

// Defaults of the options.
const (
	DefaultMaxSubscriptions = 100    // subscriptions per connection
	DefaultMaxMembers       = 10_000 // connections a presence read goes through
	DefaultReplyMembers     = 200    // members listed in a subscribe_success or presence_success frame
)

// Errors of the package (test with errors.Is).
var (
	// ErrUnknownNamespace: the channel's first segment is not a namespace
	// of the spec's channels: section.
	ErrUnknownNamespace = errors.New("channels: unknown namespace")
	// ErrDenied: a rule (subscribe or publish) said no, or failed.
	ErrDenied = errors.New("channels: denied by rule")
	// ErrNotSubscribed: an unsubscribe named a channel the connection is not subscribed to.
	ErrNotSubscribed = errors.New("channels: not subscribed")
	// ErrTooManySubscriptions: the connection has WithMaxSubscriptions subscriptions already.
	ErrTooManySubscriptions = errors.New("channels: too many subscriptions")
	// ErrNoConnection: the connection has no live row in the connections table.
	ErrNoConnection = errors.New("channels: connection not registered")
	// ErrNotPresence: the namespace does not track presence.
	ErrNotPresence = errors.New("channels: namespace does not track presence")
	// ErrInvalid: a malformed request, path or payload.
	ErrInvalid = errors.New("channels: invalid request")
)

// Option configures New. Options never panic; a bad value makes New return
// an error.
type Option func(*options)

type options struct {
	client           Client
	poster           Poster
	clock            func() time.Time
	logger           *slog.Logger
	maxSubscriptions int
	maxMembers       int
	pageSize         int32
	fanout           []FanoutOption
	errs             []error
}

// WithClient uses c for the subscriptions table (default: a client from
// config.LoadDefaultConfig).
func WithClient(c Client) Option {
	return func(o *options) {
		if c == nil {
			o.errs = append(o.errs, errors.New("channels: WithClient: nil client"))
			return
		}
		o.client = c
	}
}

// WithClock reads the time from now (subscribedAt, expiresAt, and the time
// expired items are skipped against). Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.clock = now
		}
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l == nil {
			o.errs = append(o.errs, errors.New("channels: WithLogger: nil logger"))
			return
		}
		o.logger = l
	}
}

// WithMaxSubscriptions bounds the subscriptions of one connection (default
// 100): a subscribe past it is refused, so a client cannot make its
// disconnect arbitrarily expensive.
func WithMaxSubscriptions(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.errs = append(o.errs, fmt.Errorf("channels: WithMaxSubscriptions(%d): must be at least 1", n))
			return
		}
		o.maxSubscriptions = n
	}
}

// WithMaxMembers bounds the subscriptions a presence read goes through
// (default 10,000); past it the Presence is Truncated.
func WithMaxMembers(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.errs = append(o.errs, fmt.Errorf("channels: WithMaxMembers(%d): must be at least 1", n))
			return
		}
		o.maxMembers = n
	}
}

// WithPageSize sets the Limit of each Query page read by publishes and
// presence (default 0: DynamoDB's 1 MB pages).
func WithPageSize(n int) Option {
	return func(o *options) {
		if n < 0 || n > 1<<31-1 {
			o.errs = append(o.errs, fmt.Errorf("channels: WithPageSize(%d): not a page size", n))
			return
		}
		o.pageSize = int32(n)
	}
}

// Plugin serves the channels of a spec: the client protocol (routes
// subscribe, unsubscribe, publish, presence; see Install), cleanup on
// $disconnect (OnClose), and the Go API (Publish, Presence, Remove). Build
// it once, in main; it is safe for concurrent use.
type Plugin struct {
	spec     *syncspec.Channels
	fields   []string // the spec's field names
	conns    *dynamo.Table
	store    *store
	fan      *fanout
	log      *slog.Logger
	maxSubs  int
	maxMembs int
}

var _ lawcket.ClosePlugin = (*Plugin)(nil)

// New returns the Plugin for spec's channels: section. conns is the
// connections table (the dynamo plugin's): rules read a connection's row
// from it, and a connection found gone (410) loses its row there too.
// Without WithClient the subscriptions table is reached with the default
// AWS config; without WithPoster posts go through a lawcket.Poster built
// with broadcast's options (LAWCKET_MANAGEMENT_ENDPOINT, else each
// subscription's https://{domainName}/{stage}).
func New(ctx context.Context, spec *syncspec.Spec, conns *dynamo.Table, opts ...Option) (*Plugin, error) {
	switch {
	case spec == nil:
		return nil, errors.New("channels: nil spec")
	case spec.Channels == nil:
		return nil, fmt.Errorf("channels: spec %s has no channels: section", spec.File)
	case spec.Channels.Table == "":
		return nil, fmt.Errorf("channels: spec %s names no subscriptions table (channels.table)", spec.File)
	case conns == nil:
		return nil, errors.New("channels: nil connections table")
	}
	o := options{clock: time.Now, logger: slog.Default(), maxSubscriptions: DefaultMaxSubscriptions, maxMembers: DefaultMaxMembers}
	for _, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, errors.New("channels: nil option"))
			continue
		}
		opt(&o)
	}
	if err := errors.Join(o.errs...); err != nil {
		return nil, err
	}
	if o.client == nil {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("channels: load AWS config: %w", err)
		}
		o.client = dynamodb.NewFromConfig(cfg)
	}
	p := &Plugin{
		spec:     spec.Channels,
		conns:    conns,
		store:    &store{name: spec.Channels.Table, client: o.client, clock: o.clock, ttl: spec.Channels.TTL, pageSize: o.pageSize},
		log:      o.logger,
		maxSubs:  o.maxSubscriptions,
		maxMembs: o.maxMembers,
	}
	for _, f := range spec.Fields {
		p.fields = append(p.fields, f.Name)
	}
	fan, err := newFanout(ctx, p, o.poster, o.logger, o.fanout)
	if err != nil {
		return nil, err
	}
	p.fan = fan
	return p, nil
}

// Name returns "channels".
func (p *Plugin) Name() string { return "channels" }

// Table returns the subscriptions table's name.
func (p *Plugin) Table() string { return p.store.name }

// namespace parses a path and finds its namespace.
func (p *Plugin) namespace(path string) (Path, *syncspec.Namespace, error) {
	cp, err := ParsePath(path)
	if err != nil {
		return Path{}, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ns, ok := p.spec.Namespace(cp.Namespace())
	if !ok {
		names := make([]string, len(p.spec.Namespaces))
		for i, n := range p.spec.Namespaces {
			names[i] = n.Name
		}
		return Path{}, nil, fmt.Errorf("%w %q (namespaces: %s)", ErrUnknownNamespace, cp.Namespace(), strings.Join(names, ", "))
	}
	return cp, ns, nil
}

// tracks reports whether subscriptions to cp are presence memberships: the
// namespace tracks presence and cp is a concrete channel.
func tracks(ns *syncspec.Namespace, cp Path) bool { return ns.Presence != nil && !cp.Wildcard() }

// conn is what a request knows of its connection.
type conn struct {
	id, domainName, stage string
	authorizer            map[string]any
	row                   *dynamo.Row // read when needed
}

// readRow reads the connection's row once.
func (p *Plugin) readRow(ctx context.Context, c *conn) (*dynamo.Row, error) {
	if c.row != nil {
		return c.row, nil
	}
	row, err := p.conns.Get(ctx, c.id)
	if errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoConnection, c.id)
	}
	if err != nil {
		return nil, err
	}
	c.row = &row
	return c.row, nil
}

// allow evaluates rule for c on cp, reading the row only if the rule needs it.
func (p *Plugin) allow(ctx context.Context, rule *eval.Rule, which string, c *conn, cp Path) error {
	in := eval.RuleInput{Authorizer: c.authorizer, Path: cp.String(), Segments: cp.Segments()}
	if rule.UsesConnection() {
		row, err := p.readRow(ctx, c)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := attributevalue.UnmarshalMap(row.Item, &m); err != nil {
			return fmt.Errorf("channels: decode row of %s: %w", c.id, err)
		}
		in.Connection = m
	}
	ok, err := rule.Allow(in)
	if err != nil {
		p.log.InfoContext(ctx, "channels: rule failed; denying", "rule", which, "channel", cp.String(), "connectionId", c.id, "error", err)
		return fmt.Errorf("%w: the %s rule of namespace %s failed", ErrDenied, which, cp.Namespace())
	}
	if !ok {
		return fmt.Errorf("%w: the %s rule of namespace %s does not allow %s", ErrDenied, which, cp.Namespace(), cp.String())
	}
	return nil
}

// membership is a connection's member key and fields in a presence namespace.
func (p *Plugin) membership(ctx context.Context, ns *syncspec.Namespace, c *conn) (string, map[string]types.AttributeValue, error) {
	row, err := p.readRow(ctx, c)
	if err != nil {
		return "", nil, err
	}
	member := c.id
	if ns.Presence.Member != "" {
		switch v := row.Item[ns.Presence.Member].(type) {
		case *types.AttributeValueMemberS:
			if v.Value != "" {
				member = v.Value
			}
		case *types.AttributeValueMemberN:
			member = v.Value
		}
	}
	fields := map[string]types.AttributeValue{}
	for _, f := range ns.Presence.Fields {
		if v, ok := row.Item[f]; ok {
			fields[f] = v
		}
	}
	return member, fields, nil
}

// Member is one member of a presence channel: the connections that share
// its member key (a user with two tabs is one member with two connections).
type Member struct {
	// Key is the member's value of presence.member (or its connection id).
	Key string `json:"key"`
	// Fields are the presence.fields of the member's row (from its first
	// connection seen).
	Fields map[string]any `json:"fields,omitempty"`
	// Connections are the member's connection ids.
	Connections []string `json:"connections"`
}

// Presence is who is subscribed to a presence channel.
type Presence struct {
	Channel string `json:"channel"`
	// Count is the number of members (len(Members) when not Truncated).
	Count int `json:"count"`
	// Connections is the number of connections of those members.
	Connections int      `json:"connections"`
	Members     []Member `json:"members"`
	// Truncated says the read stopped at WithMaxMembers connections: the
	// counts are lower bounds.
	Truncated bool `json:"truncated,omitempty"`
}

// Presence reads the members of a presence channel (a Query per shard,
// strongly consistent is not needed: eventually consistent reads, half the
// cost). Members are sorted by key.
func (p *Plugin) Presence(ctx context.Context, channel string) (Presence, error) {
	cp, ns, err := p.namespace(channel)
	if err != nil {
		return Presence{}, err
	}
	if cp.Wildcard() {
		return Presence{}, fmt.Errorf("%w: presence of a wildcard path %s (name one channel)", ErrInvalid, channel)
	}
	if ns.Presence == nil {
		return Presence{}, fmt.Errorf("%w: %s (set presence: in channels.namespaces.%s)", ErrNotPresence, ns.Name, ns.Name)
	}
	out := Presence{Channel: channel, Members: []Member{}}
	byKey := map[string]int{}
	for shard := range ns.Shards {
		for item, err := range p.store.items(ctx, partitionKey(channel, shard, ns.Shards)) {
			if err != nil {
				return Presence{}, err
			}
			if out.Connections >= p.maxMembs {
				out.Truncated = true
				break
			}
			sub, ok := parseKey(stringAttr(item, AttrChannel), stringAttr(item, AttrSubscriber))
			if !ok || !sub.presence {
				continue
			}
			out.Connections++
			if i, ok := byKey[sub.member]; ok {
				out.Members[i].Connections = append(out.Members[i].Connections, sub.connectionID)
				continue
			}
			m := Member{Key: sub.member, Connections: []string{sub.connectionID}}
			if f, ok := item[AttrFields].(*types.AttributeValueMemberM); ok {
				if err := attributevalue.UnmarshalMap(f.Value, &m.Fields); err != nil {
					return Presence{}, fmt.Errorf("channels: decode presence fields: %w", err)
				}
			}
			byKey[sub.member] = len(out.Members)
			out.Members = append(out.Members, m)
		}
	}
	slices.SortFunc(out.Members, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
	for i := range out.Members {
		slices.Sort(out.Members[i].Connections)
	}
	out.Count = len(out.Members)
	return out, nil
}

// subscribe stores c's subscription to channel when the rule allows it. It
// returns whether c's member joined the channel (its first connection
// there) and the member's presence entry.
func (p *Plugin) subscribe(ctx context.Context, c *conn, channel string) (joined *Member, err error) {
	cp, ns, err := p.namespace(channel)
	if err != nil {
		return nil, err
	}
	if err := p.allow(ctx, ns.Subscribe, "subscribe", c, cp); err != nil {
		return nil, err
	}
	n, err := p.store.countOfConnection(ctx, c.id)
	if err != nil {
		return nil, err
	}
	if n >= p.maxSubs {
		return nil, fmt.Errorf("%w: this connection has %d (the limit is %d)", ErrTooManySubscriptions, n, p.maxSubs)
	}
	if !tracks(ns, cp) {
		shard := shardOf(c.id, ns.Shards)
		return nil, p.store.put(ctx, key{partitionKey(channel, shard, ns.Shards), c.id}, c.id, c.domainName, c.stage, nil)
	}
	member, fields, err := p.membership(ctx, ns, c)
	if err != nil {
		return nil, err
	}
	pk := partitionKey(channel, shardOf(member, ns.Shards), ns.Shards)
	// Read before the write: a member whose other connections are all
	// absent is joining. Two tabs joining at once may both announce it
	// (a duplicate join, which clients treat as idempotent); none is lost.
	others, err := p.store.memberConnections(ctx, pk, member, 2)
	if err != nil {
		return nil, err
	}
	if err := p.store.put(ctx, key{pk, memberPrefix(member) + c.id}, c.id, c.domainName, c.stage, fields); err != nil {
		return nil, err
	}
	if len(others) > 0 {
		return nil, nil // already a member (another tab, or a repeated subscribe)
	}
	m := &Member{Key: member, Connections: []string{c.id}}
	if err := attributevalue.UnmarshalMap(fields, &m.Fields); err != nil {
		return nil, fmt.Errorf("channels: decode presence fields: %w", err)
	}
	return m, nil
}

// keyOf is the key of c's subscription to channel, and its member in a
// presence channel ("" otherwise).
func (p *Plugin) keyOf(ctx context.Context, c *conn, channel string) (key, string, error) {
	cp, ns, err := p.namespace(channel)
	if err != nil {
		return key{}, "", err
	}
	if !tracks(ns, cp) {
		return key{partitionKey(channel, shardOf(c.id, ns.Shards), ns.Shards), c.id}, "", nil
	}
	member, _, err := p.membership(ctx, ns, c)
	if err != nil {
		return key{}, "", err
	}
	return key{partitionKey(channel, shardOf(member, ns.Shards), ns.Shards), memberPrefix(member) + c.id}, member, nil
}

// Subscribe subscribes the event's connection to channel as a client's
// subscribe request does (the subscribe rule applies, with the event's
// authorizer context; a presence join is announced to the others), without
// a reply frame. It may be called from a connect handler: the dynamo
// plugin has stored the row by then.
func (p *Plugin) Subscribe(ctx context.Context, ev *lawcket.Event, channel string) error {
	c := &conn{id: ev.Connection.ID, domainName: ev.Connection.DomainName, stage: ev.Connection.Stage, authorizer: ev.Authorizer()}
	joined, err := p.subscribe(ctx, c, channel)
	if err != nil || joined == nil {
		return err
	}
	return p.fan.notify(ctx, channel, presenceFrame{Type: "join", Channel: channel, Member: *joined}, c.id)
}

// Subscribed reports whether connectionID holds a live subscription to the
// path channel itself (a wildcard subscription is its own path: ask for
// /rooms/* to know about it). One GetItem, plus a read of the row in a
// presence namespace.
func (p *Plugin) Subscribed(ctx context.Context, connectionID, channel string) (bool, error) {
	k, _, err := p.keyOf(ctx, &conn{id: connectionID}, channel)
	if errors.Is(err, ErrNoConnection) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return p.store.exists(ctx, k)
}

// unsubscribe removes c's subscription to channel. It returns the member
// that left (its last connection there), if any.
func (p *Plugin) unsubscribe(ctx context.Context, c *conn, channel string) (left *Member, err error) {
	k, member, err := p.keyOf(ctx, c, channel)
	if err != nil {
		return nil, err
	}
	existed, err := p.store.delete(ctx, k)
	if err != nil {
		return nil, err
	}
	if !existed {
		return nil, fmt.Errorf("%w: %s", ErrNotSubscribed, channel)
	}
	if member == "" {
		return nil, nil
	}
	return p.leftMember(ctx, k.channel, member, c.id)
}

// leftMember says whether member has no connection left in the partition.
func (p *Plugin) leftMember(ctx context.Context, pk, member, connectionID string) (*Member, error) {
	rest, err := p.store.memberConnections(ctx, pk, member, 1)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, nil
	}
	return &Member{Key: member, Connections: []string{connectionID}}, nil
}

// Removed is what Remove deleted for one connection.
type Removed struct {
	// Subscriptions is the number of subscription items deleted.
	Subscriptions int `json:"subscriptions"`
	// Left are the presence channels the connection's member left.
	Left []string `json:"left,omitempty"`
}

// Remove deletes every subscription of a connection (a Query on
// ConnectionIndex, then BatchWriteItem deletes, 25 per request) and sends
// a leave frame to each presence channel its member left. It does not
// touch the connection's row. A subscription written moments before may be
// missed by the index (eventually consistent); its TTL, a 410 during a
// publish or a sweep removes it.
func (p *Plugin) Remove(ctx context.Context, connectionID string) (Removed, error) {
	var keys []key
	for k, err := range p.store.ofConnection(ctx, connectionID) {
		if err != nil {
			return Removed{}, err
		}
		keys = append(keys, k)
		if len(keys) > 10*p.maxSubs { // bounded: the rest expires by TTL
			break
		}
	}
	if len(keys) == 0 {
		return Removed{}, nil
	}
	if err := p.store.deleteKeys(ctx, keys); err != nil {
		return Removed{}, err
	}
	rem := Removed{Subscriptions: len(keys)}
	var errs []error
	for _, k := range keys {
		sub, ok := parseKey(k.channel, k.subscriber)
		if !ok || !sub.presence {
			continue
		}
		left, err := p.leftMember(ctx, k.channel, sub.member, connectionID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if left != nil {
			rem.Left = append(rem.Left, sub.path)
			if err := p.fan.notify(ctx, sub.path, presenceFrame{Type: "leave", Channel: sub.path, Member: *left}, connectionID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return rem, errors.Join(errs...)
}

// OnClose removes the closing connection's subscriptions (see Remove). A
// failure is returned (the wrapper logs it); the subscriptions then expire
// by TTL, or a publish's 410 or a sweep removes them.
func (p *Plugin) OnClose(ctx context.Context, ev *lawcket.Event) error {
	if ev == nil {
		return errors.New("channels: nil event")
	}
	_, err := p.Remove(ctx, ev.Connection.ID)
	return err
}

// removeGone deletes a gone connection's row and subscriptions.
func (p *Plugin) removeGone(ctx context.Context, connectionID string) (Removed, error) {
	rowErr := p.conns.Delete(ctx, connectionID)
	rem, err := p.Remove(ctx, connectionID)
	return rem, errors.Join(rowErr, err)
}

// frames

type dataFrame struct {
	Type         string          `json:"type"` // "data"
	Channel      string          `json:"channel"`
	Subscription string          `json:"subscription"`
	Event        json.RawMessage `json:"event"`
}

type presenceFrame struct {
	Type    string `json:"type"` // "join" or "leave"
	Channel string `json:"channel"`
	Member  Member `json:"member"`
}
