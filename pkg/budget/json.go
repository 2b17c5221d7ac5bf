package budget

import (
	"encoding/json"
	"errors"
	"io"
)

// DecodeJSON decodes the one JSON value of r into v under m's limits. An
// empty body is io.EOF (A-REX answers an empty list with 0 bytes). The
// decoder holds at most the message's Bytes while it reads the value, and
// the value it builds is bounded by Elements and Text.
func (m Msg) DecodeJSON(r io.Reader, v any) error {
	dec := m.JSONDecoder(r)
	err := dec.Decode(v)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("invalid JSON: more after the value")
		}
	}
	var be *Error
	if errors.As(err, &be) {
		return be
	}
	return err
}

// JSONDecoder is a json.Decoder reading r under m's limits, for callers
// that walk the value token by token.
func (m Msg) JSONDecoder(r io.Reader) *json.Decoder {
	return json.NewDecoder(m.JSONReader(r))
}

// JSONReader passes r through under m's limits, for a JSON message that
// another library reads (the read past a limit fails with an *Error).
func (m Msg) JSONReader(r io.Reader) io.Reader {
	s := &jsonScan{m: m}
	return &scanReader{r: r, m: m, step: s.step}
}

// jsonScan follows JSON's syntax byte by byte, just enough to count values,
// the entries of each array and object, nesting and the length of each
// string or number. Syntax errors are left to encoding/json.
type jsonScan struct {
	m      Msg
	values int64
	inStr  bool
	esc    bool
	run    int64  // bytes of the current string or number
	prev   byte   // the last structural byte outside strings ('v' after a value)
	stack  []byte // '{' or '[' per open level
	counts []int64
}

func (s *jsonScan) step(b byte) error {
	lim := s.m.Limits
	if s.inStr {
		switch {
		case s.esc:
			s.esc = false
		case b == '\\':
			s.esc = true
		case b == '"':
			s.inStr, s.prev, s.run = false, 'v', 0
			return nil
		}
		s.run++
		return s.m.over(s.run, int64(lim.Text), "bytes in one string")
	}
	switch b {
	case ' ', '\t', '\r', '\n':
		s.run = 0
	case ',', ':':
		s.run, s.prev = 0, b
	case '"':
		s.inStr, s.esc, s.run = true, false, 0
		return s.begin()
	case '{', '[':
		if err := s.begin(); err != nil {
			return err
		}
		s.stack, s.counts, s.prev, s.run = append(s.stack, b), append(s.counts, 0), b, 0
		return s.m.over(int64(len(s.stack)), int64(lim.Depth), "levels of nesting")
	case '}', ']':
		if n := len(s.stack); n > 0 {
			s.stack, s.counts = s.stack[:n-1], s.counts[:n-1]
		}
		s.prev, s.run = 'v', 0
	default: // a number, true, false, null (or garbage for encoding/json)
		if s.run == 0 {
			if err := s.begin(); err != nil {
				return err
			}
		}
		s.run++
		s.prev = 'v'
		return s.m.over(s.run, int64(lim.Text), "bytes in one value")
	}
	return nil
}

// begin counts a value, or an object's key, that starts here.
func (s *jsonScan) begin() error {
	lim := s.m.Limits
	top := len(s.stack) - 1
	key := top >= 0 && s.stack[top] == '{' && (s.prev == '{' || s.prev == ',')
	if !key {
		s.values++
		if err := s.m.over(s.values, int64(lim.Elements), "values"); err != nil {
			return err
		}
	}
	if top >= 0 && (key || s.stack[top] == '[') {
		s.counts[top]++
		return s.m.over(s.counts[top], int64(lim.Entries), "entries in one list")
	}
	return nil
}
