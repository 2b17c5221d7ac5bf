package token

import "fmt"

func sprint(v any) string  { return fmt.Sprint(v) }
func sprintV(v any) string { return fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v) }
func sprintS(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }
