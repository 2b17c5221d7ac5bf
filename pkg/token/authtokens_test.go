package token

import (
	"strings"
	"testing"
	"time"
)

func claims(t *testing.T, js string) *Claims {
	t.Helper()
	j, err := Decode(jwtOf(js))
	if err != nil {
		t.Fatal(err)
	}
	return &j.Claims
}

func TestAuthTokensRuleMatch(t *testing.T) {
	base := `"iss":"https://iss","sub":"u1","scope":"compute.read compute.create","wlcg.groups":["/vo","/vo/prod"]`
	tests := []struct {
		name, rule, claims string
		want               bool
		why                string
	}{
		{"all wildcards", "* * * * *", `{` + base + `,"aud":"https://ce:443"}`, true, ""},
		{"exact everything", "u1 https://iss https://ce:443 compute.read /vo/prod", `{` + base + `,"aud":"https://ce:443"}`, true, ""},
		{"issuer trailing slash differs", "* https://iss/ * * *", `{` + base + `}`, false, "a trailing slash matters"},
		{"subject differs", "u2 * * * *", `{` + base + `}`, false, "subject"},
		{"aud array first element", "* * https://ce:443 * *", `{` + base + `,"aud":["https://ce:443","x"]}`, true, ""},
		{"aud array second element does not count", "* * https://ce:443 * *", `{` + base + `,"aud":["x","https://ce:443"]}`, false, "only the first element"},
		{"aud missing", "* * https://ce:443 * *", `{` + base + `}`, false, "audience"},
		{"scope is one word, not a prefix", "* * * compute * ", `{` + base + `}`, false, "scope"},
		{"scope from array claim", "* * * compute.cancel *", `{"scope":["compute.cancel"]}`, true, ""},
		{"group exact element", "* * * * /vo", `{` + base + `}`, true, ""},
		{"group is not a prefix match", "* * * * /v", `{` + base + `}`, false, "group"},
		{"quoted field", `"u1" * * * *`, `{` + base + `}`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseAuthTokensRule(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			got, why := r.Match(claims(t, tt.claims))
			if got != tt.want || !strings.Contains(why, tt.why) {
				t.Fatalf("Match = %v %q, want %v containing %q", got, why, tt.want, tt.why)
			}
		})
	}
	for _, bad := range []string{"* * * *", "* * * * * *", `"* * * * *`} {
		if _, err := ParseAuthTokensRule(bad); err == nil {
			t.Errorf("ParseAuthTokensRule(%q) accepted", bad)
		}
	}
}

const testConf = `# test
[common]
hostname = localhost
[authtokens]
[authgroup:banned]
authtokens = baduser * * * *
[authgroup:pilots]
-authtokens = baduser * * * *
authtokens = * https://iss https://ce:443 * /vo/prod
[authgroup:readers]
!authtokens = * * * * /vo/prod
[authgroup:everyone]
authgroup = pilots readers
[mapping]
map_to_user = everyone nobody:nogroup
[arex/ws/jobs]
denyaccess = banned
allowaccess = everyone
`

func TestArcConfEvaluate(t *testing.T) {
	conf, err := ParseArcConf(strings.NewReader(testConf), "arc.conf")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	good := `"iss":"https://iss","aud":"https://ce:443","wlcg.groups":["/vo/prod"],"exp":1700003600,"nbf":1699999000`
	tests := []struct {
		name     string
		claims   string
		admitted bool
		groups   string // members, in order
		reason   string
	}{
		{"pilot admitted", `{"sub":"u",` + good + `}`, true, "pilots everyone", ""},
		{"negative rule excludes the banned user from pilots; denyaccess first", `{"sub":"baduser",` + good + `}`, false, "banned", "denyaccess = banned"},
		{"inverted rule: not in /vo/prod makes a reader", `{"sub":"u","iss":"https://iss","aud":"https://ce:443","wlcg.groups":["/vo"]}`, true, "readers everyone", ""},
		{"expired: no group, not admitted", `{"sub":"u",` + strings.Replace(good, "1700003600", "1699999999", 1) + `}`, false, "", "exp: token expired"},
		{"nbf in the future", `{"sub":"u",` + strings.Replace(good, "1699999000", "1700000100", 1) + `}`, false, "", "nbf"},
		{"exp exactly now is expired (no skew)", `{"sub":"u",` + strings.Replace(good, "1700003600", "1700000000", 1) + `}`, false, "", "exp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := conf.Evaluate(claims(t, tt.claims), now)
			var members []string
			for _, g := range v.Groups {
				if g.Member {
					members = append(members, g.Name)
				}
			}
			if v.Admitted != tt.admitted || strings.Join(members, " ") != tt.groups {
				t.Fatalf("admitted=%v groups=%v, want %v %q; verdict %+v", v.Admitted, members, tt.admitted, tt.groups, v)
			}
			if !strings.Contains(strings.Join(v.Reasons, ";")+v.AccessRule, tt.reason) {
				t.Errorf("reasons %q / access %q lack %q", v.Reasons, v.AccessRule, tt.reason)
			}
			if v.Identity != "https://iss/"+strings.Split(strings.Split(tt.claims, `"sub":"`)[1], `"`)[0] {
				t.Errorf("identity %q", v.Identity)
			}
		})
	}
}

func TestArcConfNoTokensNoMapping(t *testing.T) {
	conf, err := ParseArcConf(strings.NewReader("[authgroup:a]\nall = yes\n[arex/ws/jobs]\nallowaccess = a\n"), "c")
	if err != nil {
		t.Fatal(err)
	}
	v := conf.Evaluate(claims(t, `{"sub":"u","iss":"i"}`), time.Now())
	if v.Admitted || v.TokensEnabled {
		t.Fatalf("admitted without [authtokens]: %+v", v)
	}
	conf, _ = ParseArcConf(strings.NewReader("[authtokens]\n[authgroup:a]\nall = yes\n[mapping]\nmap_to_user = a root\n"), "c")
	v = conf.Evaluate(claims(t, `{"sub":"u","iss":"i"}`), time.Now())
	if v.Admitted || v.MappedTo != "" || !v.AccessAllowed {
		t.Fatalf("mapping to root must not admit: %+v", v)
	}
}

func TestParseArcConfErrors(t *testing.T) {
	for in, want := range map[string]string{
		"key = v\n":        "c:1:1: option \"key\" outside any [block]",
		"[a]\njunk line\n": "c:2:1: want key = value",
		"[a]\n[b\n":        "c:2:1: block header without closing",
	} {
		_, err := ParseArcConf(strings.NewReader(in), "c")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseArcConf(%q) = %v, want %q", in, err, want)
		}
	}
}

func FuzzParseArcConf(f *testing.F) {
	f.Add(testConf)
	f.Add("[a]\nb=c\n")
	f.Add("[authgroup:x]\n-!authtokens = \"a b\" * * * *\n[mapping]\nmap_to_user = x u\n")
	f.Fuzz(func(t *testing.T, s string) {
		conf, err := ParseArcConf(strings.NewReader(s), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		v := conf.Evaluate(&Claims{Issuer: "i", Subject: "s", Groups: []string{"/g"}}, time.Unix(0, 0))
		if v.Admitted && (!v.TokensEnabled || v.MappedTo == "") {
			t.Fatalf("admitted without tokens or mapping: %+v", v)
		}
	})
}

func FuzzParseAuthTokensRule(f *testing.F) {
	f.Add("* https://iss aud * /g")
	f.Add(`"a b" * * * *`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseAuthTokensRule(s)
		if err != nil {
			return
		}
		// a rule whose fields hold no blanks or quotes re-parses from its String form to itself
		plain := true
		for _, fld := range []string{r.Subject, r.Issuer, r.Audience, r.Scope, r.Group} {
			if fld == "" || strings.ContainsAny(fld, "\" \t") {
				plain = false
			}
		}
		if plain {
			r2, err := ParseAuthTokensRule(r.String())
			if err != nil || r2 != r {
				t.Fatalf("round trip %q -> %q: %v", s, r.String(), err)
			}
		}
	})
}
