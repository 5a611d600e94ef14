package channels

import (
	"fmt"
	"strings"

	"github.com/lawcket/lawcket/syncspec"
)

// MaxSegments is the most segments a channel path has, the namespace
// included (/namespace/a/b/c/d).
const MaxSegments = 5

// Path is a parsed channel path: /namespace/a/b, at most MaxSegments
// segments of 1 to 50 letters, digits, '-' or '_', the first being the
// namespace. A subscription path may end in the wildcard segment "*"
// (/news/*), which matches every channel below its prefix at any depth
// (/news/sports, /news/sports/live) but not the prefix itself (/news).
type Path struct {
	raw      string
	segments []string // the namespace first; "*" last for a wildcard
}

// ParsePath parses a channel path. Wildcards are allowed only as the last
// segment and never as the namespace.
func ParsePath(s string) (Path, error) {
	if len(s) > 1+MaxSegments*51 {
		return Path{}, fmt.Errorf("channels: channel path is %d bytes, longer than any valid path", len(s))
	}
	if !strings.HasPrefix(s, "/") {
		return Path{}, fmt.Errorf("channels: channel path %q must start with /, as in /rooms/lobby", s)
	}
	segs := strings.Split(s[1:], "/")
	if len(segs) > MaxSegments {
		return Path{}, fmt.Errorf("channels: channel path %q has %d segments; at most %d", s, len(segs), MaxSegments)
	}
	for i, seg := range segs {
		switch {
		case seg == "*" && i == 0:
			return Path{}, fmt.Errorf("channels: channel path %q: the namespace cannot be a wildcard", s)
		case seg == "*" && i == len(segs)-1:
		case seg == "*":
			return Path{}, fmt.Errorf("channels: channel path %q: * is allowed only as the last segment", s)
		case !syncspec.ValidSegment(seg):
			return Path{}, fmt.Errorf("channels: channel path %q: segment %d (%q) must be 1 to 50 letters, digits, '-' or '_'", s, i+1, seg)
		}
	}
	return Path{raw: s, segments: segs}, nil
}

// String returns the path as given, e.g. /rooms/lobby.
func (p Path) String() string { return p.raw }

// Namespace is the first segment.
func (p Path) Namespace() string {
	if len(p.segments) == 0 {
		return ""
	}
	return p.segments[0]
}

// Segments returns the segments, the namespace first (a copy).
func (p Path) Segments() []string { return append([]string(nil), p.segments...) }

// Wildcard reports whether the path ends in *.
func (p Path) Wildcard() bool {
	return len(p.segments) > 0 && p.segments[len(p.segments)-1] == "*"
}

// Matches reports whether a subscription to p receives what is published
// to the concrete channel c.
func (p Path) Matches(c Path) bool {
	if !p.Wildcard() {
		return p.raw == c.raw
	}
	prefix := p.segments[:len(p.segments)-1]
	if len(c.segments) <= len(prefix) {
		return false
	}
	for i, s := range prefix {
		if c.segments[i] != s {
			return false
		}
	}
	return true
}

// Patterns returns the subscription paths that match the concrete channel
// p, exact first: /a/b/c gives /a/b/c, /a/b/*, /a/*. A publish queries
// exactly these (times the namespace's shards), never more.
func (p Path) Patterns() []string {
	out := []string{p.raw}
	for n := len(p.segments) - 1; n >= 1; n-- {
		out = append(out, "/"+strings.Join(p.segments[:n], "/")+"/*")
	}
	return out
}
