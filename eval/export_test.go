package eval

// SetFlatten turns flattening (flat.go) on or off for the programs
// compiled afterwards; tests and benchmarks compare the two.
func SetFlatten(on bool) { flatten = on }
