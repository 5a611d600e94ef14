package channels_test

import (
	"fmt"

	"github.com/lawcket/lawcket/channels"
)

// A publish to /news/sports/live reaches the subscribers of these paths,
// and of no other: one Query each (per shard).
func ExamplePath_Patterns() {
	p, err := channels.ParsePath("/news/sports/live")
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Namespace(), p.Patterns())
	// Output: news [/news/sports/live /news/sports/* /news/*]
}

func ExamplePath_Matches() {
	sub, _ := channels.ParsePath("/news/*")
	for _, c := range []string{"/news/sports", "/news/sports/live", "/news", "/weather/today"} {
		ch, _ := channels.ParsePath(c)
		fmt.Println(c, sub.Matches(ch))
	}
	// Output:
	// /news/sports true
	// /news/sports/live true
	// /news false
	// /weather/today false
}

func ExampleParsePath() {
	for _, s := range []string{"/rooms/lobby", "/a/*/b", "/*", "/a/b/c/d/e/f"} {
		_, err := channels.ParsePath(s)
		fmt.Println(s, err)
	}
	// Output:
	// /rooms/lobby <nil>
	// /a/*/b channels: channel path "/a/*/b": * is allowed only as the last segment
	// /* channels: channel path "/*": the namespace cannot be a wildcard
	// /a/b/c/d/e/f channels: channel path "/a/b/c/d/e/f" has 6 segments; at most 5
}
