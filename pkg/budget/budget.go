// Package budget decodes a server's answer as a stream with limits on what
// one message may cost: its bytes, its values or elements, the entries of
// one list, the attributes of one element, its nesting and the bytes of any
// one string, tag or text. The 64 MiB cap on an answer bounds bytes but not
// memory: 60 MB of `{},` or of `<a/>` made encoding/json and encoding/xml
// build slices of gigabytes. Here the limits are checked on the bytes and
// tokens as they are read from the body, so a hostile answer is refused
// after costing about what the limits allow, with an error that names the
// server and the limit.
package budget

import (
	"errors"
	"fmt"
	"io"
)

// Limits is what one message may hold. A zero field means no limit.
type Limits struct {
	Bytes    int64 // bytes of the whole message
	Elements int   // JSON values or XML elements in the whole message
	Entries  int   // items of one JSON array or object, or children of one XML element
	Attrs    int   // attributes of one XML element
	Depth    int   // levels of nesting
	Text     int   // bytes of one JSON string or number, or one XML tag or text
}

// Error is a message refused for going past one of its limits.
type Error struct {
	Source string // the server (its URL or host)
	What   string // the message, e.g. "status answer"
	Limit  string // what was counted, e.g. "entries in one list"
	Max    int64  // the limit
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: the %s has more than %d %s (limit): refused", e.Source, e.What, e.Max, e.Limit)
}

// IsError reports whether err is (or wraps) a limit refusal.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// Msg names a message and its server for errors, with the limits it is
// read under.
type Msg struct {
	Source string
	What   string
	Limits Limits
}

// over is the error for going past limit max (max <= 0: no limit).
func (m Msg) over(n, max int64, limit string) error {
	if max <= 0 || n <= max {
		return nil
	}
	return &Error{Source: m.Source, What: m.What, Limit: limit, Max: max}
}

// ReadAll reads a message that is kept whole (plain text) up to m's Bytes.
func (m Msg) ReadAll(r io.Reader) ([]byte, error) {
	if m.Limits.Bytes <= 0 {
		return io.ReadAll(r)
	}
	b, err := io.ReadAll(io.LimitReader(r, m.Limits.Bytes+1))
	if err != nil {
		return nil, err
	}
	if err := m.over(int64(len(b)), m.Limits.Bytes, "bytes"); err != nil {
		return nil, err
	}
	return b, nil
}

// BytesReader passes r through under m's Bytes only.
func (m Msg) BytesReader(r io.Reader) io.Reader {
	return &scanReader{r: r, m: m, step: func(byte) error { return nil }}
}

// scanReader passes a body through a byte scanner, failing the read (and
// every later one) at the first byte past a limit.
type scanReader struct {
	r    io.Reader
	m    Msg
	n    int64
	step func(b byte) error
	err  error
}

func (s *scanReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	for _, b := range p[:n] {
		s.n++
		if e := s.m.over(s.n, s.m.Limits.Bytes, "bytes"); e != nil {
			s.err = e
			return 0, e
		}
		if e := s.step(b); e != nil {
			s.err = e
			return 0, e
		}
	}
	return n, err
}
