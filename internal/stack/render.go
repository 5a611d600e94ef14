package stack

import (
	"fmt"
)

// Formats are the output formats of Render.
var Formats = []string{"sam", "cloudformation", "terraform"}

// Render writes s in format: sam or cloudformation (YAML, through
// goformation) or terraform (HCL, through hclwrite).
func (s *Stack) Render(format string) ([]byte, error) {
	switch format {
	case "sam", "cloudformation":
		t, err := s.CloudFormation(format == "sam")
		if err != nil {
			return nil, err
		}
		out, err := t.YAML()
		if err != nil {
			return nil, fmt.Errorf("stack: render %s: %w", format, err)
		}
		return out, nil
	case "terraform":
		return s.Terraform()
	}
	return nil, fmt.Errorf("stack: unknown format %q", format)
}
