//go:build race

package syncspec_test

// scale divides the sizes of the large corpus specs: under the race
// detector (make test) YAML parsing is 10 to 80 times slower, so the
// corpus runs at 1/8 of the size there; make fuzz runs it at full size.
const scale = 8
