package cedar

import (
	"bytes"
	"encoding/binary"
	"errors"
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
	if n < 0 {
		return nil, protoErr("byte count %d out of range", n)
	}
	if n > c.lim.Message {
		return nil, c.limitErr(&classad.LimitError{What: "bytes in one message", Limit: c.lim.Message})
	}
	if err := c.need(n); err != nil {
		return nil, err
	}
	b := append([]byte(nil), c.in[:n]...)
	c.in = c.in[n:]
	return b, nil
}

// GetString reads a string (see PutString) of at most one message.
func (c *Conn) GetString() (string, error) {
	return c.getString(c.lim.Message, func() error {
		return &classad.LimitError{What: "bytes in one message", Limit: c.lim.Message}
	})
}

// getString reads a string of at most max bytes: a longer one is refused
// with over() as soon as that is known, before it has been read whole.
func (c *Conn) getString(max int, over func() error) (string, error) {
	tooLong := func() error { return c.limitErr(over()) }
	if c.gcm != nil {
		n, err := c.GetInt()
		if err != nil {
			return "", err
		}
		if n < 1 {
			return "", protoErr("string length %d out of range", n)
		}
		if n-1 > int64(max) {
			return "", tooLong()
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
	for from := 0; ; {
		if i := bytes.IndexByte(c.in[from:], 0); i >= 0 {
			i += from
			s := string(c.in[:i])
			c.in = c.in[i+1:]
			if s == "\xff" {
				return "", nil
			}
			return s, nil
		}
		if len(c.in) > max {
			return "", tooLong()
		}
		from = len(c.in)
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

// GetAd reads a ClassAd in the wire form, within the connection's limits
// for one ad.
func (c *Conn) GetAd() (*classad.Ad, error) { return c.GetAdIn(c.NewAnswer(1)) }

// GetAdIn reads a ClassAd in the wire form, one of an answer: b (from
// NewAnswer) is charged for it, and it is refused past b's limits.
func (c *Conn) GetAdIn(b *classad.Budget) (*classad.Ad, error) {
	n, err := c.GetInt()
	if err != nil {
		return nil, err
	}
	if err := b.StartAd(n); err != nil {
		return nil, c.limitErr(err)
	}
	ad := &classad.Ad{}
	// a repeated name replaces the earlier value (as Ad.Set would), found
	// through an index: Set's scan would make a hostile ad of many
	// attributes cost their number squared comparisons
	index := map[string]int{}
	for i := int64(0); i < n; i++ {
		line, err := c.getString(b.LineMax(), b.LineError)
		if err != nil {
			return nil, err
		}
		if line == "ZKM" { // a private attribute sent encrypted on a clear stream
			return nil, protoErr("peer sent a private attribute outside encryption (not supported)")
		}
		name, expr, err := b.ParseAttrLine(line)
		if err != nil {
			var le *classad.LimitError
			if errors.As(err, &le) {
				return nil, c.limitErr(err)
			}
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
	for range 2 { // MyType and TargetType
		if _, err := c.getString(typeNameMax, func() error {
			return &classad.LimitError{What: "bytes in a ClassAd's type", Limit: typeNameMax}
		}); err != nil {
			return nil, err
		}
	}
	return ad, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
