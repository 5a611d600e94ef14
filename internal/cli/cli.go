package cli

import (
	"context"
	"fmt"
	"io"
)

// Exit codes.
const (
	ExitOK       = 0 // success
	ExitFindings = 1 // the input was read and found wanting (invalid spec, refusal, bad event)
	ExitUsage    = 2 // the command line itself is wrong
)

// command is one subcommand. run gets the arguments after the subcommand name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands is the table Main dispatches on, in the order usage lists them;
// each subcommand lives in its own file.
func commands() []command {
	return []command{
		{"validate", "check a lawcket.yaml and compile its expressions", runValidate},
		{"eval", "print the row a connect event would write", runEval},
		{"table", "print the DynamoDB table definition and IAM statements", runTable},
		{"template", "print the deployable stack (SAM, CloudFormation or Terraform)", runTemplate},
		{"broadcast", "post a payload to stored connections", runBroadcast},
		{"presence", "print the members of a presence channel", runPresence},
		{"sweep", "remove the rows and subscriptions of gone connections", runSweep},
		{"dev", "run a handler binary behind a local API Gateway WebSocket gateway", runDev},
		{"version", "print the version", runVersion},
	}
}

// lookup returns the subcommand called name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Main runs the lawcket command with args (without the program name) and
// returns the exit code: ExitOK, ExitFindings or ExitUsage.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			// "lawcket help eval" is "lawcket eval -h".
			if cmd, ok := lookup(args[1]); ok {
				return cmd.run(ctx, []string{"-h"}, stdin, stdout, stderr)
			}
			fmt.Fprintf(stderr, "lawcket: unknown command %q\n", args[1])
			usage(stderr)
			return ExitUsage
		}
		usage(stdout)
		return ExitOK
	}
	cmd, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "lawcket: unknown command %q\n", args[0])
		usage(stderr)
		return ExitUsage
	}
	return cmd.run(ctx, args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: lawcket <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'lawcket <command> -h' for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 ok, 1 findings or refusal, 2 usage.")
}
