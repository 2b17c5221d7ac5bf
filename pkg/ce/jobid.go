package ce

import (
	"fmt"
	"strings"
)

// MaxLocalIDLen bounds a job id from a CE (A-REX's are 54 characters,
// HTCondor's cluster.proc fewer than 25).
const MaxLocalIDLen = 128

// CheckLocalID reports whether id, a job id a CE of flavour f returned (or
// the job list holds), is one cesub may record and use: never empty or
// longer than MaxLocalIDLen, never something a path or URL would read as
// more than one name ("..", "/", "?", spaces, control characters), and in
// the flavour's own syntax (RegInfo.ValidLocalID). A CE returning anything
// else is broken or hostile: its id is refused, not recorded.
func (r *Registry) CheckLocalID(f Flavour, id string) error {
	if err := safeComponent(id); err != nil {
		return fmt.Errorf("the CE returned an unusable job id %q: %w", clip(id), err)
	}
	r.mu.RLock()
	info, ok := r.m[f]
	r.mu.RUnlock()
	if ok && info.ValidLocalID != nil {
		if err := info.ValidLocalID(id); err != nil {
			return fmt.Errorf("the CE returned an unusable job id %q: %w", clip(id), err)
		}
	}
	return nil
}

// CheckResults turns every result whose job id fails CheckLocalID into an
// error (its job is then neither recorded nor shown as submitted).
func (r *Registry) CheckResults(rs []Result) []Result {
	for i, res := range rs {
		if res.Job == nil {
			continue
		}
		if err := r.CheckLocalID(res.Job.Flavour, res.Job.LocalID); err != nil {
			rs[i] = Result{ID: "", Err: err}
		}
	}
	return rs
}

func safeComponent(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty")
	case len(id) > MaxLocalIDLen:
		return fmt.Errorf("%d bytes, more than %d", len(id), MaxLocalIDLen)
	case id == "." || id == ".." || strings.HasPrefix(id, "."):
		return fmt.Errorf("starts with a dot")
	}
	for _, c := range id {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`/\?#%&:;*"'<>|`+"`", c) {
			return fmt.Errorf("contains %q", c)
		}
	}
	return nil
}

// clip shortens an id for a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
