// Package doctest checks the documentation against the code: every command
// transcript in README.md and docs/*.md is run against the lawcket command
// and its output compared; README.md stays a front page of at most 12 KB
// whose program is examples/readme/main.go verbatim; every relative link
// resolves to a file (and heading) of the repository; every subcommand and
// flag is documented; every benchmark command names a benchmark that exists;
// and docs/architecture.md's import graph is what go list says.
//
// The package has no code of its own, only tests. The markdown conventions
// the tests read (```console transcripts, "# not checked:" blocks, file= and
// from= blocks, the normalized values) are described in docs/README.md.
//
// Lifecycle: `go test ./internal/doctest` extracts the transcripts of each
// markdown file into one testscript (github.com/rogpeppe/go-internal)
// script, runs it in a fresh directory holding links to the repository's
// top-level files, and reports a mismatch at FILE:LINE of the markdown;
// `go test ./internal/doctest -update` writes the actual output back into
// the markdown instead. The scripts run in parallel, one per markdown file;
// each command is its own process.
package doctest
