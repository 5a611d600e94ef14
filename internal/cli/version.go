package cli

import (
	"context"
	"io"
)

func runVersion(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return ExitUsage
}
