package dlfs

import (
	"fmt"
	"strings"
)

// CheckName refuses a file or folder name from a CE (slash-separated,
// relative to the job's folder) that could leave the folder, hide in it, or
// drive a terminal: empty, absolute, ".", "..", a backslash, a control
// character (below 0x20, or 0x7f), or one of cesub's own names.
func CheckName(p string) error {
	if p == "" {
		return fmt.Errorf("unsafe file name %q (empty)", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if !SafeSegment(seg) {
			return fmt.Errorf("unsafe file name %q", p)
		}
	}
	return nil
}

// SafeSegment reports whether one name (no slash) is safe to write.
func SafeSegment(s string) bool {
	if s == "" || s == "." || s == ".." || s == MarkerName || strings.HasSuffix(s, PartSuffix) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f || b == '/' || b == '\\' {
			return false
		}
	}
	return true
}
