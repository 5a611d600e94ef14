package testsupport

import (
	"os/exec"
	"testing"
)

// CfnLint returns the command that runs AWS's cfn-lint, which applies the
// SAM transform through aws-sam-translator: the cfn-lint executable, else
// the Python package. When neither is installed it skips the test, and
// fails it under CI=true, where every template must be linted.
func CfnLint(t testing.TB) []string {
	t.Helper()
	if p, err := exec.LookPath("cfn-lint"); err == nil {
		return []string{p}
	}
	if err := exec.Command("python3", "-c", "import cfnlint.runner, samtranslator").Run(); err == nil {
		return []string{"python3", "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"}
	}
	Missing(t, "cfn-lint (with aws-sam-translator) is not installed")
	return nil
}
