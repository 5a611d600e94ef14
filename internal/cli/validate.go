package cli

import (
	"context"
	"fmt"
	"io"
)

const validateAbout = `
Load lawcket.yaml (with its LAWCKET_* environment overrides), check it and
compile every expression. Every problem is printed on stderr as
FILE:LINE:COL: path: message (a problem from the environment names the
variable), expression problems followed by a caret under the fault; the exit
status is then 1. On success it prints "ok: N fields (M expressions)".`

func runValidate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("validate", "lawcket validate [-c lawcket.yaml]", validateAbout, stderr)
	config := configFlag(f.FlagSet)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	spec, ok := loadSpec(*config, stderr)
	if !ok {
		return ExitFindings
	}
	exprs := 0
	for _, fd := range spec.Fields {
		if fd.Expr != "" {
			exprs++
		}
	}
	fmt.Fprintf(stdout, "ok: %s (%s)\n", plural(len(spec.Fields), "field"), plural(exprs, "expression"))
	return ExitOK
}

// plural returns "1 field", "2 fields".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
