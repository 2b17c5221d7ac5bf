package token

import (
	"fmt"
	"syscall"
)

func sprint(v any) string  { return fmt.Sprint(v) }
func sprintV(v any) string { return fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v) }
func sprintS(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }

func syscallMkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }
