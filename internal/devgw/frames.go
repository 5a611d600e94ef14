package devgw

import "encoding/binary"

// MaxFrameSize is API Gateway's WebSocket frame size limit (32 KB). A
// client frame larger than this closes the connection with 1009, as on AWS,
// and the message it belongs to is not delivered (unless
// Config.NoFrameLimit). Browsers send a message as a single frame.
const MaxFrameSize = 32 << 10

// frameScanner follows the frames a client sends, header by header, across
// reads of the raw connection, to find a frame over the limit. It reads
// only frame headers (RFC 6455 section 5.2) and skips payloads.
type frameScanner struct {
	hdr       [14]byte
	n         int    // header bytes collected
	remaining uint64 // payload bytes still to skip
	messages  uint64 // data messages completed (final data frames seen)
}

// headerLen is the length of a frame header whose first two bytes are b0, b1.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 { // masked, as every client frame is
		n += 4
	}
	return n
}

// feed consumes bytes read from the client. It reports the payload length
// of the first frame over limit, the index of the data message it belongs
// to (0 for the first message of the connection), and whether there is one.
func (s *frameScanner) feed(p []byte, limit uint64) (size, message uint64, over bool) {
	for len(p) > 0 {
		if s.remaining > 0 {
			skip := min(s.remaining, uint64(len(p)))
			s.remaining -= skip
			p = p[skip:]
			continue
		}
		s.hdr[s.n] = p[0]
		s.n++
		p = p[1:]
		if s.n < 2 || s.n < headerLen(s.hdr[1]) {
			continue
		}
		switch s.hdr[1] & 0x7f {
		case 126:
			size = uint64(binary.BigEndian.Uint16(s.hdr[2:4]))
		case 127:
			size = binary.BigEndian.Uint64(s.hdr[2:10])
		default:
			size = uint64(s.hdr[1] & 0x7f)
		}
		s.n = 0
		if size > limit {
			return size, s.messages, true
		}
		if opcode := s.hdr[0] & 0x0f; opcode < 8 && s.hdr[0]&0x80 != 0 {
			s.messages++ // a final data frame ends a message; control frames (8+) do not
		}
		s.remaining = size
	}
	return 0, 0, false
}
