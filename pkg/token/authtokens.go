package token

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// AuthTokensRule is one A-REX `authtokens = subject issuer audience scope group`
// rule. Each field is "*" or compared as an exact string.
type AuthTokensRule struct {
	Subject, Issuer, Audience, Scope, Group string
}

// ParseAuthTokensRule reads the five fields; double quotes group a field.
func ParseAuthTokensRule(s string) (AuthTokensRule, error) {
	f, err := splitConfigWords(s)
	if err != nil {
		return AuthTokensRule{}, err
	}
	if len(f) != 5 {
		return AuthTokensRule{}, fmt.Errorf("authtokens rule %q has %d fields, want 5: subject issuer audience scope group", s, len(f))
	}
	return AuthTokensRule{f[0], f[1], f[2], f[3], f[4]}, nil
}

func (r AuthTokensRule) String() string {
	return strings.Join([]string{r.Subject, r.Issuer, r.Audience, r.Scope, r.Group}, " ")
}

// Match applies A-REX's semantics: sub and iss exact; aud compares only the
// first element of an array; scope must be one word of the scope claim; group
// one element of wlcg.groups. The reason names the first field that differs.
func (r AuthTokensRule) Match(c *Claims) (bool, string) {
	if r.Subject != "*" && r.Subject != c.Subject {
		return false, fmt.Sprintf("subject: token has %q, rule wants %q", c.Subject, r.Subject)
	}
	if r.Issuer != "*" && r.Issuer != c.Issuer {
		return false, fmt.Sprintf("issuer: token has %q, rule wants %q (exact string: a trailing slash matters)", c.Issuer, r.Issuer)
	}
	if r.Audience != "*" {
		first := ""
		if len(c.Audience.Values) > 0 {
			first = c.Audience.Values[0]
		}
		if first != r.Audience {
			msg := fmt.Sprintf("audience: token has %q, rule wants %q", first, r.Audience)
			if len(c.Audience.Values) > 1 && slices.Contains(c.Audience.Values, r.Audience) {
				msg += " (it is in the aud array, but A-REX compares only the first element)"
			}
			return false, msg
		}
	}
	if r.Scope != "*" && !slices.Contains(c.Scopes(), r.Scope) {
		return false, fmt.Sprintf("scope: token has %q, rule wants %q", strings.Join(c.Scopes(), " "), r.Scope)
	}
	if r.Group != "*" && !slices.Contains(c.Groups, r.Group) {
		return false, fmt.Sprintf("group: token has %q, rule wants %q", strings.Join(c.Groups, ","), r.Group)
	}
	return true, ""
}

// ConfLine is one `key = value` line of arc.conf.
type ConfLine struct {
	Key, Value string
	Line       int
}

// ConfBlock is one [block] or [block:name] of arc.conf, lines in order.
type ConfBlock struct {
	Name  string // "authgroup:wlcgpilots"
	Line  int
	Lines []ConfLine
}

// ArcConf is the part of an arc.conf that decides token admission.
type ArcConf struct {
	Path   string
	Blocks []ConfBlock
}

// ReadArcConf parses an arc.conf file.
func ReadArcConf(path string) (*ArcConf, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("arc.conf: %w", err)
	}
	defer f.Close()
	return ParseArcConf(f, path)
}

// ParseArcConf parses arc.conf text; name is used in error messages.
func ParseArcConf(r io.Reader, name string) (*ArcConf, error) {
	ac := &ArcConf{Path: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			end := strings.Index(line, "]")
			if end < 0 {
				return nil, fmt.Errorf("%s:%d:1: block header without closing ']'", name, n)
			}
			bn := strings.TrimSpace(line[1:end])
			ac.Blocks = append(ac.Blocks, ConfBlock{Name: bn, Line: n})
			continue
		}
		eq := strings.Index(line, "=")
		if eq < 0 {
			return nil, fmt.Errorf("%s:%d:1: want key = value, got %q", name, n, line)
		}
		if len(ac.Blocks) == 0 {
			return nil, fmt.Errorf("%s:%d:1: option %q outside any [block]", name, n, strings.TrimSpace(line[:eq]))
		}
		b := &ac.Blocks[len(ac.Blocks)-1]
		b.Lines = append(b.Lines, ConfLine{Key: strings.TrimSpace(line[:eq]), Value: strings.TrimSpace(line[eq+1:]), Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ac, nil
}

// Block returns the first block with that name.
func (ac *ArcConf) Block(name string) *ConfBlock {
	for i := range ac.Blocks {
		if ac.Blocks[i].Name == name {
			return &ac.Blocks[i]
		}
	}
	return nil
}

// Values returns every value of key in the block.
func (b *ConfBlock) Values(key string) []ConfLine {
	if b == nil {
		return nil
	}
	var out []ConfLine
	for _, l := range b.Lines {
		if l.Key == key {
			out = append(out, l)
		}
	}
	return out
}

// AuthTokensRules lists every authtokens rule of every [authgroup:NAME].
func (ac *ArcConf) AuthTokensRules() []AuthGroupRule {
	var out []AuthGroupRule
	for _, b := range ac.Blocks {
		g, ok := strings.CutPrefix(b.Name, "authgroup:")
		if !ok {
			continue
		}
		for _, l := range b.Values("authtokens") {
			out = append(out, AuthGroupRule{Group: g, Line: l})
		}
	}
	return out
}

// AuthGroupRule is a rule line inside an authgroup block.
type AuthGroupRule struct {
	Group string
	Line  ConfLine
}

// GroupResult says whether the token's holder is in an authgroup and why.
type GroupResult struct {
	Name   string `json:"name"`
	Member bool   `json:"member"`
	Rule   string `json:"rule,omitempty"` // "authtokens = ..." that decided
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ArcVerdict is the predicted A-REX decision for a token on the jobs interface.
type ArcVerdict struct {
	Identity       string        `json:"identity"` // iss + "/" + sub, what A-REX maps
	TokensEnabled  bool          `json:"tokens_enabled"`
	TimeValid      bool          `json:"time_valid"`
	Groups         []GroupResult `json:"authgroups"`
	AccessAllowed  bool          `json:"access_allowed"`
	AccessRule     string        `json:"access_rule,omitempty"`
	MappedTo       string        `json:"mapped_to,omitempty"`
	MapRule        string        `json:"map_rule,omitempty"`
	Admitted       bool          `json:"admitted"`
	Reasons        []string      `json:"reasons,omitempty"`
	ScopesEnforced string        `json:"tokenscopes,omitempty"` // [arex] tokenscopes (ARC 7)
}

// JobsInterface is the arc.conf block whose allowaccess/denyaccess govern REST and EMI-ES.
const JobsInterface = "arex/ws/jobs"

// Evaluate predicts whether A-REX admits a token with claims c at time now:
// [authtokens] present, exp/nbf (no skew, only if present), membership of each
// [authgroup:NAME] (rules in order, first match decides, +/- sign and ! invert),
// allowaccess/denyaccess of [arex/ws/jobs] in order, then the [mapping] rules.
func (ac *ArcConf) Evaluate(c *Claims, now time.Time) *ArcVerdict {
	v := &ArcVerdict{Identity: c.Issuer + "/" + c.Subject, TimeValid: true}
	if ac.Block("authtokens") != nil {
		v.TokensEnabled = true
	} else {
		v.Reasons = append(v.Reasons, fmt.Sprintf("%s has no [authtokens] block: A-REX ignores bearer tokens", ac.Path))
	}
	if c.Expiry != nil && !now.Before(c.Expiry.Time) {
		v.TimeValid = false
		v.Reasons = append(v.Reasons, fmt.Sprintf("exp: token expired at %s", c.Expiry.Format(time.RFC3339)))
	}
	if c.NotBefore != nil && now.Before(c.NotBefore.Time) {
		v.TimeValid = false
		v.Reasons = append(v.Reasons, fmt.Sprintf("nbf: token not valid before %s", c.NotBefore.Format(time.RFC3339)))
	}
	if ts := ac.Block("arex").Values("tokenscopes"); len(ts) > 0 {
		v.ScopesEnforced = ts[0].Value
	}
	member := map[string]bool{}
	for _, b := range ac.Blocks {
		name, ok := strings.CutPrefix(b.Name, "authgroup:")
		if !ok {
			continue
		}
		gr := GroupResult{Name: name}
		if v.TokensEnabled && v.TimeValid {
			gr = evalGroup(name, b, c, member)
		} else {
			gr.Reason = "token not usable"
		}
		member[name] = gr.Member
		v.Groups = append(v.Groups, gr)
	}
	v.AccessAllowed, v.AccessRule = evalAccess(ac.Block(JobsInterface), member)
	if !v.AccessAllowed {
		v.Reasons = append(v.Reasons, "not allowed by ["+JobsInterface+"]: "+v.AccessRule)
	}
	v.MappedTo, v.MapRule = evalMapping(ac.Block("mapping"), member, v.Identity)
	if v.MappedTo == "" {
		v.Reasons = append(v.Reasons, "no [mapping] rule maps this identity (A-REX will not map to root: 403)")
	}
	v.Admitted = v.TokensEnabled && v.TimeValid && v.AccessAllowed && v.MappedTo != ""
	return v
}

// ruleResult mirrors A-REX's AuthResult.
type ruleResult int

const (
	noMatch ruleResult = iota
	positive
	negative
)

// evalGroup follows A-REX's AuthUser::evaluate on "key value": an optional
// sign before the key ('-' swaps positive and negative, '+' is the default),
// then an optional '!' that turns no-match into a positive match and a match
// into no-match. The first rule that does not give no-match decides, and only
// a positive result makes the user a member.
func evalGroup(name string, b ConfBlock, c *Claims, member map[string]bool) GroupResult {
	gr := GroupResult{Name: name, Reason: "no rule matched"}
	var misses []string
	for _, l := range b.Lines {
		key := l.Key
		negate := false
		switch {
		case strings.HasPrefix(key, "-"):
			negate, key = true, key[1:]
		case strings.HasPrefix(key, "+"):
			key = key[1:]
		}
		complement := false
		if strings.HasPrefix(key, "!") {
			complement, key = true, key[1:]
		}
		res := noMatch
		switch key {
		case "authtokens":
			r, err := ParseAuthTokensRule(l.Value)
			if err != nil {
				misses = append(misses, fmt.Sprintf("line %d: %v", l.Line, err))
				continue
			}
			ok, why := r.Match(c)
			if ok {
				res = positive
			} else {
				misses = append(misses, fmt.Sprintf("line %d: %s", l.Line, why))
			}
		case "authgroup":
			names, _ := splitConfigWords(l.Value)
			for _, n := range names {
				if member[n] { // only groups defined earlier can be members already
					res = positive
				}
			}
		case "all":
			if l.Value == "yes" {
				res = positive
			}
		case "name":
			continue
		default: // subject, file, voms, userlist, plugin: X.509 or external rules a token alone does not match
		}
		if complement {
			if res == noMatch {
				res = positive
			} else {
				res = noMatch
			}
		}
		if negate {
			switch res {
			case positive:
				res = negative
			case negative:
				res = positive
			}
		}
		if res == noMatch {
			continue
		}
		gr.Member = res == positive
		gr.Rule = l.Key + " = " + l.Value
		gr.Line = l.Line
		gr.Reason = ""
		if !gr.Member {
			gr.Reason = fmt.Sprintf("negative rule at line %d matched", l.Line)
		}
		return gr
	}
	if len(misses) > 0 {
		gr.Reason = strings.Join(misses, "; ")
	}
	return gr
}

func evalAccess(b *ConfBlock, member map[string]bool) (bool, string) {
	any := false
	for _, l := range b.Lines0() {
		if l.Key != "allowaccess" && l.Key != "denyaccess" {
			continue
		}
		any = true
		names, _ := splitConfigWords(l.Value)
		for _, n := range names {
			if member[n] {
				return l.Key == "allowaccess", fmt.Sprintf("%s = %s (line %d)", l.Key, l.Value, l.Line)
			}
		}
	}
	if !any {
		return true, "no allowaccess/denyaccess: open to everybody authenticated"
	}
	return false, "no allowaccess/denyaccess statement names a group the token is in"
}

// Lines0 is b.Lines, tolerating a nil block.
func (b *ConfBlock) Lines0() []ConfLine {
	if b == nil {
		return nil
	}
	return b.Lines
}

func evalMapping(b *ConfBlock, member map[string]bool, identity string) (string, string) {
	onNoGroupStop, onMapStop, onNoMapStop := false, true, true
	for _, l := range b.Lines0() {
		f, _ := splitConfigWords(l.Value)
		switch l.Key {
		case "policy_on_nogroup":
			onNoGroupStop = l.Value == "stop"
			continue
		case "policy_on_map":
			onMapStop = l.Value != "continue"
			continue
		case "policy_on_nomap":
			onNoMapStop = l.Value != "continue"
			continue
		case "map_to_user", "map_to_pool", "map_with_file", "map_with_plugin":
		default:
			continue
		}
		if len(f) < 2 || !member[f[0]] {
			if onNoGroupStop {
				return "", ""
			}
			continue
		}
		mapped := ""
		switch l.Key {
		case "map_to_user":
			u := strings.SplitN(f[1], ":", 2)[0]
			if u != "root" {
				mapped = f[1]
			}
		case "map_to_pool":
			mapped = "an account of the pool in " + f[1]
		case "map_with_file":
			mapped = lookupMapfile(f[1], identity)
		case "map_with_plugin":
			mapped = "whatever plugin " + strings.Join(f[2:], " ") + " returns"
		}
		rule := fmt.Sprintf("%s = %s (line %d)", l.Key, l.Value, l.Line)
		if mapped != "" && onMapStop || mapped == "" && onNoMapStop {
			return mapped, rule
		}
	}
	return "", ""
}

func lookupMapfile(path, identity string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w, err := splitConfigWords(sc.Text())
		if err == nil && len(w) >= 2 && w[0] == identity {
			return w[1]
		}
	}
	return ""
}

// splitConfigWords splits on blanks, keeping "double quoted" words together.
func splitConfigWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ = !inQ
			have = true
		case (r == ' ' || r == '\t') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if inQ {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}
