package syncspec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/lawcket/lawcket/eval"
)

// Channels is the channels: section of a spec: the subscriptions table and
// the channel namespaces with their rules (package channels serves them).
type Channels struct {
	// Table is the subscriptions table: channels.table, else
	// LAWCKET_SUBSCRIPTIONS_TABLE, else the connections table's name
	// followed by "-subscriptions".
	Table string
	// TTL is how long a subscription lives without its connection's
	// $disconnect: channels.ttl, else the spec's ttl, else
	// DefaultChannelTTL.
	TTL time.Duration
	// Namespaces are the entries of channels.namespaces, in file order.
	Namespaces []Namespace
	// Line and Column are the position of the channels: section's value.
	Line, Column int

	nodes *channelNodes // between the section's parse and finish
}

// The channels: section (see sections.go): parse checks its structure,
// finish compiles its rules once fields: and env: are known.
var _ = registerSection(section{
	key: "channels",
	parse: func(p *parser, v *yaml.Node, s *Spec) {
		s.Channels = &Channels{Line: v.Line, Column: v.Column, nodes: p.walkChannels(v)}
	},
	finish: func(p *parser, s *Spec, present bool) {
		if s.Channels == nil {
			return
		}
		opts := p.opts.eval
		opts.Env = map[string]string{}
		opts.EnvNames = s.Env
		for _, n := range s.Env {
			if v, ok := p.opts.lookupEnv(n); ok {
				opts.Env[n] = v
			}
		}
		p.compileChannels(s, opts)
	},
})

// Namespace is one channel namespace: the first segment of a channel path
// (/rooms/lobby is in namespace rooms) and its rules.
type Namespace struct {
	Name string
	// Subscribe says whether a connection may subscribe to a channel of
	// the namespace (default: true).
	Subscribe *eval.Rule
	// Publish says whether a client may publish to a channel of the
	// namespace through its socket (default: false; Go code and
	// `lawcket broadcast --channel` always may).
	Publish *eval.Rule
	// Presence is nil when the namespace does not track presence.
	Presence *Presence
	// Shards is the number of partitions each channel's subscriptions are
	// spread over (default 1; see package channels on hot channels).
	Shards int
	// Line and Column are the position of the namespace's name.
	Line, Column int
}

// Presence says how a namespace tracks who is subscribed.
type Presence struct {
	// Member is the row attribute that identifies a member (default
	// connectionId): connections with the same value are one member.
	Member string
	// Fields are the row attributes shown for each member.
	Fields []string
}

// Namespace returns the namespace named name.
func (c *Channels) Namespace(name string) (*Namespace, bool) {
	if c == nil {
		return nil, false
	}
	for i := range c.Namespaces {
		if c.Namespaces[i].Name == name {
			return &c.Namespaces[i], true
		}
	}
	return nil, false
}

// Limits of the channels: section.
const (
	// DefaultChannelTTL is the subscription TTL when neither channels.ttl
	// nor ttl is set: API Gateway closes every connection after 2 hours.
	DefaultChannelTTL = 2 * time.Hour
	// MaxShards bounds channels.namespaces.NAME.shards: a publish reads
	// every shard of every matching path.
	MaxShards = 64
	// EnvSubscriptionsTable overrides the subscriptions table's name.
	EnvSubscriptionsTable = "LAWCKET_SUBSCRIPTIONS_TABLE"
)

var (
	channelsKeys  = []string{"table", "ttl", "namespaces"}
	namespaceKeys = []string{"subscribe", "publish", "presence", "shards"}
	presenceKeys  = []string{"member", "fields"}
	// SegmentPattern is what one channel path segment may hold.
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,50}$`)
)

// SegmentPattern is the syntax of one channel path segment (and of a
// namespace name): 1 to 50 letters, digits, '-' or '_'.
const SegmentPattern = `^[A-Za-z0-9_-]{1,50}$`

// ValidSegment reports whether s is a valid channel path segment.
func ValidSegment(s string) bool { return segmentRE.MatchString(s) }

// channelNodes is the channels: section as the node walk found it, compiled
// once the whole file (env:, fields:) is known.
type channelNodes struct {
	key, table, ttl *yaml.Node
	namespaces      []namespaceNodes
}

type namespaceNodes struct {
	key                *yaml.Node
	subscribe, publish *yaml.Node
	presence           *Presence
	member             *yaml.Node
	fields             []*yaml.Node
	shards             int
}

// walkChannels checks the structure of channels:.
func (p *parser) walkChannels(v *yaml.Node) *channelNodes {
	v = resolve(v)
	c := &channelNodes{key: v}
	if isNull(v) {
		p.errNode(v, "channels", "channels must be a mapping with namespaces:")
		return c
	}
	if v.Kind != yaml.MappingNode {
		p.errNode(v, "channels", "channels must be a mapping with keys %s", strings.Join(channelsKeys, ", "))
		return c
	}
	hasNS := false
	p.pairs(v, "channels", func(ck, cv *yaml.Node) {
		switch ck.Value {
		case "table":
			s, ok := p.scalar(cv, "channels.table", "a table name")
			if ok {
				if msg := checkTable(s); msg != "" {
					p.errNode(cv, "channels.table", "%s", msg)
				}
				c.table = resolve(cv)
			}
		case "ttl":
			s, ok := p.scalar(cv, "channels.ttl", `a duration such as "3h"`)
			if !ok {
				return
			}
			if tag := resolve(cv).ShortTag(); tag == "!!int" || tag == "!!float" {
				p.errNode(cv, "channels.ttl", "invalid duration %s: a number needs a unit, such as %ss or %sh", s, s, s)
				return
			}
			if _, msg := checkTTL(s); msg != "" {
				p.errNode(cv, "channels.ttl", "%s", msg)
				return
			}
			c.ttl = resolve(cv)
		case "namespaces":
			hasNS = true
			p.walkNamespaces(c, cv)
		default:
			p.unknownKey(ck, "channels", channelsKeys)
		}
	})
	if !hasNS {
		p.errNode(v, "channels.namespaces", "channels needs namespaces: (at least one, such as rooms:)")
	}
	return c
}

func (p *parser) walkNamespaces(c *channelNodes, v *yaml.Node) {
	v = resolve(v)
	if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
		p.errNode(v, "channels.namespaces", "namespaces must be a mapping of namespace names to their rules, such as rooms: {subscribe: true}")
		return
	}
	p.pairs(v, "channels.namespaces", func(k, nv *yaml.Node) {
		path := "channels.namespaces." + k.Value
		if !ValidSegment(k.Value) {
			p.errNode(k, path, "invalid namespace name %q: 1 to 50 letters, digits, '-' or '_'", k.Value)
			return
		}
		ns := namespaceNodes{key: k, shards: 1}
		nv = resolve(nv)
		if isNull(nv) {
			c.namespaces = append(c.namespaces, ns) // defaults only
			return
		}
		if nv.Kind != yaml.MappingNode {
			p.errNode(nv, path, "a namespace must be a mapping with keys %s (or empty for the defaults)", strings.Join(namespaceKeys, ", "))
			return
		}
		ok := true
		p.pairs(nv, path, func(nk, nval *yaml.Node) {
			kp := join(path, nk.Value)
			switch nk.Value {
			case "subscribe", "publish":
				r := resolve(nval)
				if r.Kind != yaml.ScalarNode || isNull(r) || (r.ShortTag() != "!!str" && r.ShortTag() != "!!bool") {
					p.errNode(r, kp, "%s must be true, false or an expression (a string)", nk.Value)
					ok = false
					return
				}
				if strings.TrimSpace(r.Value) == "" {
					p.errNode(r, kp, "%s is empty", nk.Value)
					ok = false
					return
				}
				if nk.Value == "subscribe" {
					ns.subscribe = r
				} else {
					ns.publish = r
				}
			case "shards":
				r := resolve(nval)
				n, err := strconv.Atoi(r.Value)
				if r.Kind != yaml.ScalarNode || r.ShortTag() != "!!int" || err != nil || n < 1 || n > MaxShards {
					p.errNode(r, kp, "shards must be a whole number from 1 to %d", MaxShards)
					ok = false
					return
				}
				ns.shards = n
			case "presence":
				ok = p.walkPresence(&ns, nval, kp) && ok
			default:
				p.unknownKey(nk, path, namespaceKeys)
				ok = false
			}
		})
		// Compiled even when its structure is wrong, so that every
		// expression error is reported too (the spec fails anyway).
		_ = ok
		c.namespaces = append(c.namespaces, ns)
	})
}

func (p *parser) walkPresence(ns *namespaceNodes, v *yaml.Node, path string) bool {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
		if v.Value == "true" {
			ns.presence = &Presence{}
		}
		return true
	}
	if v.Kind != yaml.MappingNode {
		p.errNode(v, path, "presence must be true, false, or a mapping with keys %s", strings.Join(presenceKeys, ", "))
		return false
	}
	pr := &Presence{}
	ok := true
	p.pairs(v, path, func(k, pv *yaml.Node) {
		kp := join(path, k.Value)
		switch k.Value {
		case "member":
			s, good := p.scalar(pv, kp, "a field name")
			if !good {
				ok = false
				return
			}
			pr.Member, ns.member = s, resolve(pv)
		case "fields":
			var good bool
			pr.Fields, ns.fields, good = p.stringList(pv, kp, "fields must be a list of field names, such as [user]", "a field name", nil)
			ok = ok && good
		default:
			p.unknownKey(k, path, presenceKeys)
			ok = false
		}
	})
	ns.presence = pr
	return ok
}

// compileChannels compiles the rules of the channels: section against the
// spec's fields and env allowlist, and checks the names presence uses.
func (p *parser) compileChannels(s *Spec, opts eval.Options) {
	out := s.Channels
	c, table, lookup := out.nodes, s.Table, p.opts.lookupEnv
	out.nodes = nil
	out.TTL = s.TTL
	if out.TTL <= 0 {
		out.TTL = DefaultChannelTTL
	}
	if c.ttl != nil {
		if d, err := time.ParseDuration(c.ttl.Value); err == nil {
			out.TTL = d
		}
	}
	switch v, _ := lookup(EnvSubscriptionsTable); {
	case c.table != nil:
		out.Table = c.table.Value
	case v != "":
		if msg := checkTable(v); msg != "" {
			p.errs = append(p.errs, &Error{File: p.file, EnvVar: EnvSubscriptionsTable, Message: msg})
		}
		out.Table = v
	case table != "":
		out.Table = table + "-subscriptions"
		if len(out.Table) > 255 {
			p.errNode(c.key, "channels.table", "the default subscriptions table name %s-subscriptions is too long: set channels.table", table)
		}
	}
	names := make([]string, 0, len(p.fields))
	for _, f := range p.fields {
		names = append(names, f.Name)
	}
	known := slices.Concat(names, []string{"connectionId", "domainName", "stage", "connectedAt"})
	ropts := eval.RuleOptions{Fields: names, Env: opts.Env, EnvNames: opts.EnvNames, MaxNodes: opts.MaxNodes, MemoryBudget: opts.MemoryBudget}
	for _, nn := range c.namespaces {
		path := "channels.namespaces." + nn.key.Value
		ns := Namespace{Name: nn.key.Value, Presence: nn.presence, Shards: nn.shards, Line: nn.key.Line, Column: nn.key.Column}
		ns.Subscribe = p.compileRule(nn.subscribe, "true", path+".subscribe", ropts)
		ns.Publish = p.compileRule(nn.publish, "false", path+".publish", ropts)
		if pr := nn.presence; pr != nil {
			if pr.Member != "" && !slices.Contains(known, pr.Member) {
				p.errNode(nn.member, path+".presence.member", "unknown field %s%s", pr.Member, didYouMean(pr.Member, known))
			}
			for i, f := range pr.Fields {
				if !slices.Contains(known, f) {
					p.errNode(nn.fields[i], fmt.Sprintf("%s.presence.fields[%d]", path, i), "unknown field %s%s", f, didYouMean(f, known))
				}
			}
		}
		out.Namespaces = append(out.Namespaces, ns)
	}
}

func didYouMean(s string, known []string) string {
	if m := suggest(s, known); m != "" {
		return fmt.Sprintf(" (did you mean %s?)", m)
	}
	return fmt.Sprintf(" (fields: %s)", strings.Join(known, ", "))
}

// compileRule compiles one rule node (def when absent), reporting
// expression errors at their place inside the scalar.
func (p *parser) compileRule(n *yaml.Node, def, path string, opts eval.RuleOptions) *eval.Rule {
	src := def
	if n != nil {
		src = n.Value
	}
	r, err := eval.CompileRule(src, opts)
	if err == nil {
		return r
	}
	var ce *eval.CompileError
	if !errors.As(err, &ce) || n == nil {
		p.errAt(1, 1, path, "%v", err)
		return nil
	}
	msg := ce.Message
	if strings.HasPrefix(msg, "expected bool") {
		msg += " (a rule must give true or false)"
	}
	p.errCompile(n, path, msg, ce)
	return nil
}
