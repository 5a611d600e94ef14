package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flags is a subcommand's flag set with the text its help shows.
type flags struct {
	*flag.FlagSet
	synopsis string // "lawcket validate [-c lawcket.yaml]"
	about    string // what the command does, a paragraph or two
}

// newFlags returns the flag set of subcommand name. Parse errors are reported
// on stderr by the flag package; help and usage are printed by parse.
func newFlags(name, synopsis, about string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet("lawcket "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse prints the help itself, to the right writer
	return &flags{FlagSet: fs, synopsis: synopsis, about: about}
}

// parse parses args. When it returns ok == false the command must return
// code: ExitOK after -h (help on stdout), ExitUsage after a bad flag or a
// stray argument (the problem and the help on stderr).
func (f *flags) parse(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	err := f.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.help(stdout)
		return ExitOK, false
	case err != nil: // the flag package has printed the problem
		f.help(stderr)
		return ExitUsage, false
	case f.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", f.Name(), f.Arg(0))
		f.help(stderr)
		return ExitUsage, false
	}
	return ExitOK, true
}

// usageError reports a problem with an otherwise parsed command line.
func (f *flags) usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", f.Name(), fmt.Sprintf(format, args...))
	f.help(stderr)
	return ExitUsage
}

func (f *flags) help(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n\nflags:\n", f.synopsis, strings.TrimSpace(f.about))
	out := f.Output()
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(out)
}

// choice is a flag.Value restricted to a fixed set of words.
type choice struct {
	value   string
	allowed []string
}

func newChoice(def string, allowed ...string) *choice {
	return &choice{value: def, allowed: allowed}
}

func (c *choice) String() string { return c.value }

func (c *choice) Set(s string) error {
	for _, a := range c.allowed {
		if s == a {
			c.value = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(c.allowed, ", "))
}

// timeFlag is a flag.Value holding an RFC 3339 time; the zero time means unset.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	f.t = t
	return nil
}
