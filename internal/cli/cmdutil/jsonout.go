package cmdutil

import (
	"bufio"
	"bytes"
	"encoding"
	"encoding/json"
	"io"
	"reflect"
	"strings"
)

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// marshalsItself reports a type that writes its own JSON (time.Time,
// token.Token): copied as it is.
func marshalsItself(t reflect.Type) bool {
	for _, x := range []reflect.Type{t, reflect.PointerTo(t)} {
		if x.Implements(jsonMarshaler) || x.Implements(textMarshaler) {
			return true
		}
	}
	return false
}

// emptyNotNull is a copy of v in which every nil slice (and map) that
// encoding/json would write as null, at any depth, is empty instead: a
// list with nothing in it is [] in cesub's JSON, never null, so scripts can
// iterate without a check. Fields tagged omitempty stay omitted either way.
func emptyNotNull(v any) any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Type()).Elem()
	fill(out, rv, 0)
	return out.Interface()
}

// fill copies src into dst (settable, same type), replacing nil slices and
// maps by empty ones. depth stops a cyclic pointer structure.
func fill(dst, src reflect.Value, depth int) {
	if depth > 32 || src.Kind() != reflect.Interface && marshalsItself(src.Type()) {
		dst.Set(src)
		return
	}
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Elem().Type())
		fill(p.Elem(), src.Elem(), depth+1)
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		fill(e, src.Elem(), depth+1)
		dst.Set(e)
	case reflect.Struct:
		dst.Set(src) // unexported fields too
		t := src.Type()
		for i := 0; i < src.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue // encoding/json does not write it
			}
			fill(dst.Field(i), src.Field(i), depth+1)
		}
	case reflect.Slice:
		if src.Type().Elem().Kind() == reflect.Uint8 { // []byte is base64, null stays null
			dst.Set(src)
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			fill(s.Index(i), src.Index(i), depth+1)
		}
		dst.Set(s)
	case reflect.Map:
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			e := reflect.New(iter.Value().Type()).Elem()
			fill(e, iter.Value(), depth+1)
			m.SetMapIndex(iter.Key(), e)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}

// writeJSON writes v exactly as a json.Encoder with SetIndent("", "  ") and
// SetEscapeHTML(false) writes emptyNotNull(v), byte for byte, but a list —
// v itself, or a field of the struct v — one element at a time: the status
// of 10,000 jobs is 3 MB of JSON, which the Encoder built in 12 MB of
// buffers before writing a byte.
func writeJSON(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	s := &jsonStreamer{w: bw}
	s.value(reflect.ValueOf(v), "")
	if s.err != nil {
		return s.err
	}
	_ = bw.WriteByte('\n')
	return bw.Flush()
}

type jsonStreamer struct {
	w         *bufio.Writer
	buf       bytes.Buffer
	enc       *json.Encoder // writes to buf with indent prefix encPrefix
	encPrefix string
	nullable  map[reflect.Type]bool
	err       error
}

// value writes rv whose first line is already indented by prefix.
func (s *jsonStreamer) value(rv reflect.Value, prefix string) {
	if s.err != nil {
		return
	}
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && !rv.IsNil() && !marshalsItself(rv.Type()) {
		rv = rv.Elem()
	}
	switch {
	case !rv.IsValid() || marshalsItself(rv.Type()):
		s.small(rv, prefix)
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8:
		s.list(rv, prefix)
	case rv.Kind() == reflect.Struct && plainStruct(rv.Type()):
		s.object(rv, prefix)
	default:
		s.small(rv, prefix)
	}
}

// list writes a slice an element at a time ([] when empty, as emptyNotNull makes nil).
func (s *jsonStreamer) list(rv reflect.Value, prefix string) {
	if rv.Len() == 0 {
		_, s.err = s.w.WriteString("[]")
		return
	}
	inner := prefix + "  "
	_, _ = s.w.WriteString("[\n")
	for i := 0; i < rv.Len() && s.err == nil; i++ {
		_, _ = s.w.WriteString(inner)
		s.small(rv.Index(i), inner)
		if i < rv.Len()-1 {
			_ = s.w.WriteByte(',')
		}
		_ = s.w.WriteByte('\n')
	}
	_, _ = s.w.WriteString(prefix)
	_ = s.w.WriteByte(']')
}

// object writes a struct field by field, streaming its list fields.
func (s *jsonStreamer) object(rv reflect.Value, prefix string) {
	t := rv.Type()
	type field struct {
		name string
		v    reflect.Value
	}
	var fields []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		if opts == "omitempty" && isEmptyJSON(rv.Field(i)) {
			continue
		}
		fields = append(fields, field{name, rv.Field(i)})
	}
	if len(fields) == 0 {
		_, s.err = s.w.WriteString("{}")
		return
	}
	inner := prefix + "  "
	_, _ = s.w.WriteString("{\n")
	for i, f := range fields {
		_, _ = s.w.WriteString(inner)
		s.small(reflect.ValueOf(f.name), inner)
		_, _ = s.w.WriteString(": ")
		s.value(f.v, inner)
		if i < len(fields)-1 {
			_ = s.w.WriteByte(',')
		}
		_ = s.w.WriteByte('\n')
		if s.err != nil {
			return
		}
	}
	_, _ = s.w.WriteString(prefix)
	_ = s.w.WriteByte('}')
}

// small writes rv through encoding/json, its later lines indented by prefix.
func (s *jsonStreamer) small(rv reflect.Value, prefix string) {
	if s.err != nil {
		return
	}
	var v any
	if rv.IsValid() {
		v = rv.Interface()
		if s.mayBeNull(rv.Type()) {
			v = emptyNotNull(v)
		}
	}
	s.buf.Reset()
	if s.enc == nil || s.encPrefix != prefix {
		s.enc = json.NewEncoder(&s.buf)
		s.enc.SetEscapeHTML(false)
		s.enc.SetIndent(prefix, "  ")
		s.encPrefix = prefix
	}
	if s.err = s.enc.Encode(v); s.err != nil {
		return
	}
	b := bytes.TrimSuffix(s.buf.Bytes(), []byte("\n"))
	_, s.err = s.w.Write(b)
}

// mayBeNull reports whether a value of type t can hold a nil slice or map
// that emptyNotNull would change (a row of strings and times cannot: it is
// written without the copy).
func (s *jsonStreamer) mayBeNull(t reflect.Type) bool {
	if s.nullable == nil {
		s.nullable = map[reflect.Type]bool{}
	}
	if v, ok := s.nullable[t]; ok {
		return v
	}
	s.nullable[t] = true // a recursive type is taken as nullable
	v := nullableType(t, 0)
	s.nullable[t] = v
	return v
}

func nullableType(t reflect.Type, depth int) bool {
	if depth > 16 {
		return true
	}
	if marshalsItself(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8 || nullableType(t.Elem(), depth+1)
	case reflect.Map, reflect.Interface:
		return true
	case reflect.Pointer, reflect.Array:
		return nullableType(t.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() && nullableType(t.Field(i).Type, depth+1) {
				return true
			}
		}
	}
	return false
}

// plainStruct is a struct whose fields encoding/json writes by the rules
// object follows: no embedded fields, no tag options but omitempty.
func plainStruct(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous {
			return false
		}
		if !sf.IsExported() {
			continue
		}
		_, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if opts != "" && opts != "omitempty" {
			return false
		}
	}
	return true
}

// isEmptyJSON is encoding/json's omitempty test.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// JSONList writes a JSON array to JSONOut an element at a time, as it
// comes: the bytes PrintJSON writes for the whole slice ([] when nothing
// was added), for lists too long to hold (`cesub describe` of many jobs).
type JSONList struct {
	bw *bufio.Writer
	s  *jsonStreamer
	n  int
}

// NewJSONList starts a list on stdout; Close ends it.
func (f *Factory) NewJSONList() *JSONList {
	bw := bufio.NewWriterSize(f.IO.JSONOut(), 32<<10)
	return &JSONList{bw: bw, s: &jsonStreamer{w: bw}}
}

// Add writes one element.
func (l *JSONList) Add(v any) error {
	if l.s.err != nil {
		return l.s.err
	}
	if l.n == 0 {
		_, _ = l.bw.WriteString("[\n  ")
	} else {
		_, _ = l.bw.WriteString(",\n  ")
	}
	l.n++
	l.s.small(reflect.ValueOf(v), "  ")
	return l.s.err
}

// Close ends the list and flushes it.
func (l *JSONList) Close() error {
	if l.s.err != nil {
		return l.s.err
	}
	if l.n == 0 {
		_, _ = l.bw.WriteString("[]\n")
	} else {
		_, _ = l.bw.WriteString("\n]\n")
	}
	return l.bw.Flush()
}
