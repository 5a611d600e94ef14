package cli

import (
	"context"
	"io"
)

func runDev(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return ExitUsage
}
