package budget

import (
	"encoding/xml"
	"errors"
	"io"
)

// DecodeXML decodes the XML document of r into v under m's limits.
func (m Msg) DecodeXML(r io.Reader, v any) error {
	err := m.XMLDecoder(r).Decode(v)
	var be *Error
	if errors.As(err, &be) {
		return be
	}
	return err
}

// XMLDecoder is an xml.Decoder reading r under m's limits: the bytes are
// scanned as they are read (no tag and no text longer than Text, so that no
// single token is large), and each token is counted before the caller sees
// it (elements, children of one element, attributes, nesting).
func (m Msg) XMLDecoder(r io.Reader) *xml.Decoder {
	s := &xmlScan{m: m}
	return xml.NewTokenDecoder(&xmlTokens{m: m, d: xml.NewDecoder(&scanReader{r: r, m: m, step: s.step})})
}

// xmlScan bounds the bytes of each tag (with its attributes) and each text
// run, so that encoding/xml never gathers a large token. It follows tags
// and quotes only: a '>' in a comment or CDATA section ends its "tag" early,
// which only makes the count stricter than needed there.
type xmlScan struct {
	m     Msg
	inTag bool
	quote byte
	run   int64
}

func (s *xmlScan) step(b byte) error {
	switch {
	case s.quote != 0:
		if b == s.quote {
			s.quote = 0
		}
	case s.inTag && (b == '"' || b == '\''):
		s.quote = b
	case s.inTag && b == '>':
		s.inTag, s.run = false, 0
		return nil
	case !s.inTag && b == '<':
		s.inTag, s.run = true, 0
	}
	s.run++
	what := "bytes in one text"
	if s.inTag {
		what = "bytes in one tag"
	}
	return s.m.over(s.run, int64(s.m.Limits.Text), what)
}

// xmlTokens counts the tokens of an xml.Decoder.
type xmlTokens struct {
	m        Msg
	d        *xml.Decoder
	elements int64
	kids     []int64 // children so far, per open element
}

func (x *xmlTokens) Token() (xml.Token, error) {
	t, err := x.d.Token()
	if err != nil {
		return t, err
	}
	lim := x.m.Limits
	switch t := t.(type) {
	case xml.StartElement:
		x.elements++
		if err := x.m.over(x.elements, int64(lim.Elements), "elements"); err != nil {
			return nil, err
		}
		if n := len(x.kids); n > 0 {
			x.kids[n-1]++
			if err := x.m.over(x.kids[n-1], int64(lim.Entries), "entries in one element"); err != nil {
				return nil, err
			}
		}
		x.kids = append(x.kids, 0)
		if err := x.m.over(int64(len(x.kids)), int64(lim.Depth), "levels of nesting"); err != nil {
			return nil, err
		}
		if err := x.m.over(int64(len(t.Attr)), int64(lim.Attrs), "attributes on one element"); err != nil {
			return nil, err
		}
	case xml.EndElement:
		if n := len(x.kids); n > 0 {
			x.kids = x.kids[:n-1]
		}
	}
	return t, nil
}
