package cmdutil

import (
	"encoding"
	"encoding/json"
	"reflect"
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
