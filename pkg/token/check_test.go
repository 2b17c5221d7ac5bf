package token

import (
	"strings"
	"testing"
	"time"
)

func TestPreflight(t *testing.T) {
	now := time.Unix(1700000000, 0)
	arcAud := []string{"https://ce.example.org:443", "https://ce.example.org"}
	// what the flavours register (pkg/ce/arexhttp.Scopes, pkg/ce/htcondor)
	arcNeeds := []ScopeNeed{{"submit", []string{"compute.create"}}, {"status", []string{"compute.read"}},
		{"cancel", []string{"compute.cancel"}}, {"upload", []string{"compute.modify"}}}
	write := []string{"compute.create", "compute.modify", "compute.cancel"}
	condorNeeds := []ScopeNeed{{"submit", write}, {"status", []string{"compute.read"}}, {"cancel", write}, {"upload", write}}
	tests := []struct {
		name   string
		claims string
		req    Requirements
		fail   string // names of failing checks, space-separated
	}{
		{"all good", `{"exp":1700003600,"aud":"https://ce.example.org:443","scope":"compute.create compute.read compute.cancel compute.modify","wlcg.ver":"1.0"}`,
			Requirements{Audiences: arcAud, Scopes: arcNeeds, RequireVersion: true, MinValid: time.Minute}, ""},
		{"expired", `{"exp":1699999000}`, Requirements{MinValid: time.Minute}, "exp"},
		{"too little validity left", `{"exp":1700000030}`, Requirements{MinValid: time.Minute}, "exp"},
		{"skew rescues a near miss", `{"exp":1700000030}`, Requirements{MinValid: time.Minute, Skew: time.Minute}, ""},
		{"no exp", `{}`, Requirements{}, "exp"},
		{"nbf in the future", `{"exp":1700003600,"nbf":1700000100}`, Requirements{}, "nbf"},
		{"nbf within skew", `{"exp":1700003600,"nbf":1700000030}`, Requirements{Skew: time.Minute}, ""},
		{"wrong audience", `{"exp":1700003600,"aud":"https://other:443"}`, Requirements{Audiences: arcAud}, "aud"},
		{"WLCG any audience", `{"exp":1700003600,"aud":"https://wlcg.cern.ch/jwt/v1/any"}`, Requirements{Audiences: arcAud}, ""},
		{"SciTokens ANY audience", `{"exp":1700003600,"aud":"ANY"}`, Requirements{Audiences: []string{"ce:9619"}}, ""},
		{"ARC: CE second in aud array", `{"exp":1700003600,"aud":["x","https://ce.example.org:443"]}`, Requirements{Audiences: arcAud, FirstAudienceOnly: true}, "aud"},
		{"HTCondor: any element of aud", `{"exp":1700003600,"aud":["x","ce:9619"]}`, Requirements{Audiences: []string{"ce:9619"}}, ""},
		{"ARC upload needs compute.modify", `{"exp":1700003600,"scope":"compute.create compute.read compute.cancel"}`, Requirements{Scopes: arcNeeds}, "scope:upload"},
		{"HTCondor WRITE needs all three", `{"exp":1700003600,"scope":"compute.create compute.read compute.cancel"}`, Requirements{Scopes: condorNeeds}, "scope:submit scope:cancel scope:upload"},
		{"read-only token", `{"exp":1700003600,"scope":"compute.read"}`, Requirements{Scopes: condorNeeds}, "scope:submit scope:cancel scope:upload"},
		{"no version claim", `{"exp":1700003600}`, Requirements{RequireVersion: true}, "ver"},
		{"SciTokens ver is enough", `{"exp":1700003600,"ver":"scitoken:2.0"}`, Requirements{RequireVersion: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Now = now
			cs := Preflight(claims(t, tt.claims), tt.req)
			var failed []string
			for _, c := range cs {
				if !c.OK {
					failed = append(failed, c.Name)
					if !strings.Contains(c.Line(), "FAIL") || !strings.Contains(c.Line(), c.Claim) {
						t.Errorf("failure line does not name the claim: %q", c.Line())
					}
				}
			}
			if strings.Join(failed, " ") != tt.fail {
				t.Fatalf("failed = %q, want %q; checks %+v", strings.Join(failed, " "), tt.fail, cs)
			}
			if AllOK(cs) != (tt.fail == "") {
				t.Errorf("AllOK disagrees")
			}
		})
	}
}
