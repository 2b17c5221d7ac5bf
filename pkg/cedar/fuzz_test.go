package cedar

import (
	"bytes"
	"fmt"
	"strings"
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

// frames cuts a message into CEDAR frames of at most MaxPacket bytes.
func frames(msg []byte) []byte {
	var out []byte
	for len(msg) > 0 || out == nil {
		n := min(len(msg), MaxPacket)
		end := byte(0)
		if n == len(msg) {
			end = 1
		}
		out = append(out, end, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

func wireInt(v int64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

// TestHugeAdsAreBounded: an ad claiming more attributes than the limit is
// refused before anything is allocated for them; a large ad of distinct
// names is read in linear time (10,000 attributes after authentication),
// and a repeated name keeps its last value.
func TestHugeAdsAreBounded(t *testing.T) {
	for _, n := range []int64{1 << 40, postAuthAttrs + 1, -1} {
		c := NewConn(newBufConn(frames(wireInt(n))))
		c.authenticated()
		if _, err := c.GetAd(); err == nil || !strings.Contains(err.Error(), "attributes") {
			t.Errorf("an ad claiming %d attributes: %v", n, err)
		}
	}
	const n = postAuthAttrs - 1
	msg := wireInt(n + 1)
	for i := 0; i < n; i++ {
		msg = append(msg, fmt.Sprintf("A%d = %d", i, i)...)
		msg = append(msg, 0)
	}
	msg = append(msg, "a0 = \"last\""...)
	msg = append(msg, 0, 'J', 0, 'M', 0)
	c := NewConn(newBufConn(frames(msg)))
	c.authenticated()
	ad, err := c.GetAd()
	if err != nil {
		t.Fatal(err)
	}
	if len(ad.Attrs) != n {
		t.Fatalf("%d attributes, want %d", len(ad.Attrs), n)
	}
	if v, _ := ad.Str("A0"); v != "last" {
		t.Errorf("a repeated name (another case) must replace the value: A0 = %q", v)
	}
}
