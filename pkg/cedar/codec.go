package cedar

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"

	"github.com/cesub/cesub/pkg/classad"
)

// PutInt appends an integer: every CEDAR integer is 8 bytes, big-endian.
func (c *Conn) PutInt(v int64) {
	c.out = binary.BigEndian.AppendUint64(c.out, uint64(v))
}

// PutBool appends a bool (an integer 0 or 1).
func (c *Conn) PutBool(v bool) {
	if v {
		c.PutInt(1)
	} else {
		c.PutInt(0)
	}
}

// PutString appends a string: its bytes and a NUL; on an encrypted stream
// preceded by its length (NUL included).
func (c *Conn) PutString(s string) {
	if c.gcm != nil {
		c.PutInt(int64(len(s) + 1))
	}
	c.out = append(c.out, s...)
	c.out = append(c.out, 0)
}

// PutBytes appends raw bytes (no length, no terminator).
func (c *Conn) PutBytes(b []byte) { c.out = append(c.out, b...) }

// PutDouble appends a double as HTCondor does: frexp's fraction times
// 2147483647 as an integer, then the exponent.
func (c *Conn) PutDouble(d float64) {
	frac, exp := math.Frexp(d)
	c.PutInt(int64(int32(frac * 2147483647)))
	c.PutInt(int64(exp))
}

// GetInt reads an integer.
func (c *Conn) GetInt() (int64, error) {
	if err := c.need(8); err != nil {
		return 0, err
	}
	v := int64(binary.BigEndian.Uint64(c.in[:8]))
	c.in = c.in[8:]
	return v, nil
}

// GetInt32 reads an integer that must fit 32 bits (HTCondor's int).
func (c *Conn) GetInt32() (int, error) {
	v, err := c.GetInt()
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, protoErr("integer %d out of range", v)
	}
	return int(v), nil
}

// GetBytes reads n raw bytes.
func (c *Conn) GetBytes(n int) ([]byte, error) {
	if n < 0 || n > MaxMessage {
		return nil, protoErr("byte count %d out of range", n)
	}
	if err := c.need(n); err != nil {
		return nil, err
	}
	b := append([]byte(nil), c.in[:n]...)
	c.in = c.in[n:]
	return b, nil
}

// MaxMessage bounds what one string or byte run may claim.
const MaxMessage = 64 * 1024 * 1024

// GetString reads a string (see PutString).
func (c *Conn) GetString() (string, error) {
	if c.gcm != nil {
		n, err := c.GetInt()
		if err != nil {
			return "", err
		}
		if n < 1 || n > MaxMessage {
			return "", protoErr("string length %d out of range", n)
		}
		b, err := c.GetBytes(int(n))
		if err != nil {
			return "", err
		}
		if b[0] == 0xff { // HTCondor's NULL string
			return "", nil
		}
		return string(bytes.TrimRight(b, "\x00")), nil
	}
	for {
		if i := bytes.IndexByte(c.in, 0); i >= 0 {
			s := string(c.in[:i])
			c.in = c.in[i+1:]
			if s == "\xff" {
				return "", nil
			}
			return s, nil
		}
		if len(c.in) > MaxMessage {
			return "", protoErr("unterminated string of more than %d bytes", MaxMessage)
		}
		if err := c.need(len(c.in) + 1); err != nil {
			return "", err
		}
	}
}

// PutAd appends a ClassAd in the wire form: the number of attributes, each
// as "Name = expr" in the old syntax, then two empty strings (MyType and
// TargetType, which receivers ignore).
func (c *Conn) PutAd(ad *classad.Ad) {
	c.PutInt(int64(len(ad.Attrs)))
	var b strings.Builder
	for _, a := range ad.Attrs {
		b.Reset()
		b.WriteString(a.Name)
		b.WriteString(" = ")
		b.WriteString(classad.Unparse(a.Expr))
		c.PutString(b.String())
	}
	c.PutString("")
	c.PutString("")
}

// maxAttrs bounds the attributes one received ad may claim.
const maxAttrs = 1 << 20

// GetAd reads a ClassAd in the wire form.
func (c *Conn) GetAd() (*classad.Ad, error) {
	n, err := c.GetInt()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxAttrs {
		return nil, protoErr("ClassAd with %d attributes", n)
	}
	ad := &classad.Ad{}
	// a repeated name replaces the earlier value (as Ad.Set would), found
	// through an index: Set's scan would make a hostile ad of a million
	// attributes cost a million squared comparisons
	index := map[string]int{}
	for i := int64(0); i < n; i++ {
		line, err := c.GetString()
		if err != nil {
			return nil, err
		}
		if line == "ZKM" { // a private attribute sent encrypted on a clear stream
			return nil, protoErr("peer sent a private attribute outside encryption (not supported)")
		}
		name, expr, err := classad.ParseAttrLine(line)
		if err != nil {
			return nil, protoErr("ClassAd attribute %q: %v", truncate(line, 80), err)
		}
		key := strings.ToLower(name) // ClassAd names are ASCII (validName)
		if k, ok := index[key]; ok {
			ad.Attrs[k].Expr = expr
			continue
		}
		index[key] = len(ad.Attrs)
		ad.Attrs = append(ad.Attrs, classad.Attr{Name: name, Expr: expr})
	}
	if _, err := c.GetString(); err != nil { // MyType
		return nil, err
	}
	if _, err := c.GetString(); err != nil { // TargetType
		return nil, err
	}
	return ad, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
