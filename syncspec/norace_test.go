//go:build !race

package syncspec_test

// scale divides the sizes of the large corpus specs (see race_test.go).
const scale = 1
