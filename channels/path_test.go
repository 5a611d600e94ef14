package channels_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/channels"
)

func TestParsePath(t *testing.T) {
	for _, tt := range []struct {
		in      string
		problem string // "" when valid
	}{
		{"/rooms/lobby", ""},
		{"/news/*", ""},
		{"/a/b/c/d/e", ""},
		{"/a/b/c/d/*", ""},
		{"/rooms", ""},
		{"rooms/lobby", "must start with /"},
		{"/", "segment 1"},
		{"/rooms/", "segment 2"},
		{"/rooms//x", "segment 2"},
		{"/*", "namespace cannot be a wildcard"},
		{"/a/*/b", "only as the last segment"},
		{"/a/b/c/d/e/f", "at most 5"},
		{"/rooms/lob by", "segment 2"},
		{"/rooms/" + strings.Repeat("x", 51), "segment 2"},
		{"/rooms/a#1", "segment 2"},
		{"/" + strings.Repeat("a/", 1000), "longer than any valid path"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			_, err := channels.ParsePath(tt.in)
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("ParsePath: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("ParsePath error %v; want %q", err, tt.problem)
			}
		})
	}
}

func TestMatchesAndPatterns(t *testing.T) {
	must := func(s string) channels.Path {
		p, err := channels.ParsePath(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		sub, ch string
		want    bool
	}{
		{"/news/*", "/news/sports", true},
		{"/news/*", "/news/sports/live", true},
		{"/news/*", "/news", false},
		{"/news/*", "/newsroom/x", false},
		{"/news/sports", "/news/sports", true},
		{"/news/sports", "/news/sports/live", false},
		{"/news/sports/*", "/news/sports/live", true},
		{"/news/sports/*", "/news/weather", false},
	} {
		if got := must(tt.sub).Matches(must(tt.ch)); got != tt.want {
			t.Errorf("%s matches %s = %v; want %v", tt.sub, tt.ch, got, tt.want)
		}
	}
	ch := must("/a/b/c")
	want := []string{"/a/b/c", "/a/b/*", "/a/*"}
	if got := ch.Patterns(); !slices.Equal(got, want) {
		t.Fatalf("Patterns = %v; want %v", got, want)
	}
	for _, p := range ch.Patterns() {
		if !must(p).Matches(ch) {
			t.Errorf("pattern %s does not match %s", p, ch)
		}
	}
}
