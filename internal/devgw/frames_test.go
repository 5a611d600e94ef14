package devgw

import (
	"encoding/binary"
	"testing"
)

// frame encodes a client frame header (masked) for a payload of size bytes,
// followed by the payload.
func frame(size int) []byte {
	b := []byte{0x81, 0x80}
	switch {
	case size < 126:
		b[1] |= byte(size)
	case size <= 0xffff:
		b[1] |= 126
		b = binary.BigEndian.AppendUint16(b, uint16(size))
	default:
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, uint64(size))
	}
	b = append(b, 1, 2, 3, 4) // mask key
	return append(b, make([]byte, size)...)
}

// FuzzFrameScanner: whatever the sizes and however the stream is cut into
// reads, the scanner reports exactly the first frame over the limit.
func FuzzFrameScanner(f *testing.F) {
	f.Add(uint16(10), uint16(40000), uint16(20), uint8(7))
	f.Add(uint16(125), uint16(126), uint16(65535), uint8(1))
	f.Add(uint16(0), uint16(32768), uint16(32769), uint8(200))
	f.Fuzz(func(t *testing.T, a, b, c uint16, chunk uint8) {
		sizes := []int{int(a), int(b), int(c), 70000}
		var stream []byte
		want := -1
		for i, s := range sizes {
			stream = append(stream, frame(s)...)
			if want < 0 && s > MaxFrameSize {
				want = i
			}
		}
		step := int(chunk)%64 + 1
		var sc frameScanner
		for len(stream) > 0 {
			n := min(step, len(stream))
			if size, msg, over := sc.feed(stream[:n], MaxFrameSize); over {
				if size != uint64(sizes[want]) || msg != uint64(want) {
					t.Fatalf("reported %d bytes in message %d, want frame %d of %d bytes", size, msg, want, sizes[want])
				}
				return
			}
			stream = stream[n:]
		}
		t.Fatalf("no frame reported; want frame %d", want)
	})
}
