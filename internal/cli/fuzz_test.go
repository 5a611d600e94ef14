package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodeEvent feeds arbitrary bytes to the event decoder: it returns an
// event or an error naming the file with a position inside the data, and
// never panics.
func FuzzDecodeEvent(f *testing.F) {
	paths, _ := filepath.Glob(eventDir + "*.json")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`[1,2]`))
	f.Add([]byte("{\n\"requestContext\": 7}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeEvent("event.json", data)
		if (req == nil) == (err == nil) {
			t.Fatalf("req %v, err %v: want exactly one", req, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "event.json") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
