package token

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// SciTokensAnyAudience is SciTokens' "any relying party" audience.
const SciTokensAnyAudience = "ANY"

// WLCGAnyAudience is the WLCG profile's "any relying party" audience.
const WLCGAnyAudience = "https://wlcg.cern.ch/jwt/v1/any"

// ScopeNeed is what one CE operation needs from the scope claim.
type ScopeNeed struct {
	Operation string   `json:"operation"`
	AllOf     []string `json:"all_of"`
}

// Operations cesub checks scopes for.
var Operations = []string{"submit", "status", "cancel", "upload"}

// Requirements is what a CE needs from a token.
type Requirements struct {
	Now      time.Time
	Skew     time.Duration // tolerated clock difference for nbf and exp
	MinValid time.Duration // validity that must remain after Now
	// Audiences the CE accepts (any one of them); empty skips the audience check.
	Audiences []string
	// FirstAudienceOnly is A-REX's rule: only aud[0] of an array is compared.
	FirstAudienceOnly bool
	Scopes            []ScopeNeed
	RequireVersion    bool // wlcg.ver or ver must be present
}

// Check is the outcome of one pre-flight check.
type Check struct {
	Name   string `json:"name"`  // exp, nbf, aud, scope:submit, ver, authtokens
	Claim  string `json:"claim"` // the claim examined
	OK     bool   `json:"ok"`
	Seen   string `json:"seen"`
	Needed string `json:"needed"`
	Note   string `json:"note,omitempty"`
	// Advisory checks are reported but do not fail the pre-flight (e.g. scopes
	// on an A-REX that does not enforce them).
	Advisory bool `json:"advisory,omitempty"`
}

// Line is the one-line description of a check.
func (c Check) Line() string {
	status := "ok  "
	switch {
	case !c.OK && c.Advisory:
		status = "warn"
	case !c.OK:
		status = "FAIL"
	}
	s := fmt.Sprintf("%s %-14s %s: seen %s, needed %s", status, c.Name, c.Claim, c.Seen, c.Needed)
	if c.Note != "" {
		s += " (" + c.Note + ")"
	}
	return s
}

func quoteList(v []string) string {
	if len(v) == 0 {
		return "(none)"
	}
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, " ")
}

// Preflight runs the checks of req against claims c.
func Preflight(c *Claims, req Requirements) []Check {
	var out []Check
	now := req.Now
	if c.Expiry == nil {
		out = append(out, Check{Name: "exp", Claim: "exp", Seen: "(absent)", Needed: "an expiry time",
			Note: "the WLCG profile requires exp"})
	} else {
		left := c.Expiry.Sub(now)
		ok := left+req.Skew >= req.MinValid
		ch := Check{Name: "exp", Claim: "exp", OK: ok, Seen: fmt.Sprintf("%s (%s)", c.Expiry.Format(time.RFC3339), humanLeft(left)),
			Needed: fmt.Sprintf("at least %s left", req.MinValid)}
		out = append(out, ch)
	}
	if c.NotBefore != nil {
		ok := !now.Add(req.Skew).Before(c.NotBefore.Time)
		out = append(out, Check{Name: "nbf", Claim: "nbf", OK: ok, Seen: c.NotBefore.Format(time.RFC3339),
			Needed: "not after now" + skewNote(req.Skew)})
	}
	if len(req.Audiences) > 0 {
		out = append(out, checkAudience(c, req))
	}
	have := c.Scopes()
	for _, sn := range req.Scopes {
		var missing []string
		for _, s := range sn.AllOf {
			if !slices.Contains(have, s) {
				missing = append(missing, s)
			}
		}
		ch := Check{Name: "scope:" + sn.Operation, Claim: "scope", OK: len(missing) == 0, Seen: quoteList(have),
			Needed: strings.Join(sn.AllOf, " + ")}
		if len(missing) > 0 {
			ch.Note = "missing " + strings.Join(missing, ", ")
		}
		out = append(out, ch)
	}
	if req.RequireVersion {
		seen := "(absent)"
		switch {
		case c.WLCGVer != "":
			seen = "wlcg.ver=" + c.WLCGVer
		case c.Ver != "":
			seen = "ver=" + c.Ver
		}
		out = append(out, Check{Name: "ver", Claim: "wlcg.ver|ver", OK: seen != "(absent)", Seen: seen,
			Needed: "wlcg.ver (WLCG) or ver (SciTokens)"})
	}
	return out
}

func checkAudience(c *Claims, req Requirements) Check {
	accept := append(slices.Clone(req.Audiences), WLCGAnyAudience, SciTokensAnyAudience)
	ch := Check{Name: "aud", Claim: "aud", Seen: quoteList(c.Audience.Values), Needed: "one of " + quoteList(req.Audiences) + " or an any-audience"}
	vals := c.Audience.Values
	if req.FirstAudienceOnly && len(vals) > 1 {
		vals = vals[:1]
	}
	for _, v := range vals {
		if slices.Contains(accept, v) {
			ch.OK = true
			return ch
		}
	}
	if req.FirstAudienceOnly && slices.ContainsFunc(c.Audience.Values, func(v string) bool { return slices.Contains(accept, v) }) {
		ch.Note = "the CE audience is in the array but not first; A-REX compares only aud[0]"
	}
	return ch
}

func skewNote(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf(" + %s skew", d)
}

func humanLeft(d time.Duration) string {
	if d < 0 {
		return "expired " + (-d).Round(time.Second).String() + " ago"
	}
	return d.Round(time.Second).String() + " left"
}

// AllOK reports whether every check passed.
func AllOK(cs []Check) bool {
	for _, c := range cs {
		if !c.OK && !c.Advisory {
			return false
		}
	}
	return true
}
