package cedar

import (
	"bytes"
	"testing"
)

// FuzzFrameDecoder feeds arbitrary bytes as a peer's stream: framing,
// integers, strings and ClassAds (clear and AES-GCM) must fail cleanly,
// never panic, hang or allocate without bound.
func FuzzFrameDecoder(f *testing.F) {
	seeds := [][]byte{
		{1, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b', 0},
		{1, 0, 0, 0, 29, 0, 0, 0, 0, 0, 0, 0, 2, 'A', ' ', '=', ' ', '1', 0, 'B', ' ', '=', ' ', '"', 'x', '\\', '"', 'y', '\\', 'z', '"', 0, 0, 0},
		{0, 0, 0, 0, 4, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2},
		{1, 0x7f, 0xff, 0xff, 0xff},
		{1, 0, 0, 0, 8, 0x7f, 0, 0, 0, 0, 0, 0, 0},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	key := bytes.Repeat([]byte{7}, 32)
	f.Fuzz(func(t *testing.T, b []byte) {
		c := NewConn(newBufConn(b))
		for i := 0; i < 4; i++ {
			if _, err := c.GetAd(); err != nil {
				break
			}
			if err := c.FinishMessage(); err != nil {
				break
			}
		}
		c = NewConn(newBufConn(b))
		_, _ = c.GetString()
		_, _ = c.GetInt32()
		_, _ = c.PeekEOM()
		_ = c.SkipMessage()
		c = NewConn(newBufConn(b))
		_ = c.EnableAES(key)
		if _, err := c.GetString(); err == nil {
			_, _ = c.GetAd()
		}
	})
}
