// Package cli is the lawcket command.
//
// Main(ctx, args, stdin, stdout, stderr) runs one subcommand and returns its
// exit code; it never calls os.Exit, never reads os.Args and writes only to the
// writers it is given, so every subcommand is tested by running Main with
// buffers. cmd/lawcket is a few lines around it.
//
// Exit codes are the same for every subcommand:
//
//	0  ok
//	1  findings: an invalid spec, a refused connection, a malformed event, …
//	2  usage: an unknown command or flag, a bad flag value, stray arguments
//
// Every subcommand has its own flag.FlagSet; "-h" prints its help on stdout
// and exits 0, a usage error prints the problem and the help on stderr and
// exits 2.
//
// Concurrency: Main keeps no package state; concurrent calls are independent
// (each loads its own spec and writes to its own writers).
package cli
