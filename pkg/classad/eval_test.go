package classad

import (
	"testing"
)

func evalAd(t *testing.T) *Ad {
	t.Helper()
	ad := &Ad{}
	for _, kv := range [][2]string{
		{"ClusterId", "42"}, {"ProcId", "3"}, {"JobStatus", "2"}, {"Owner", `"pilot"`},
		{"RequestMemory", "ifthenelse(MemoryUsage =!= undefined, MemoryUsage, (ImageSize + 1023) / 1024)"},
		{"ImageSize", "2048"}, {"Loop1", "Loop2"}, {"Loop2", "Loop1"}, {"Ratio", "0.5"},
		{"Groups", `"cms,atlas, lhcb"`}, {"L", "{ 1, 2, 3 }"}, {"Done", "false"},
	} {
		e, err := ParseExpr(kv[1], Old)
		if err != nil {
			t.Fatalf("%s: %v", kv[1], err)
		}
		ad.Set(kv[0], e)
	}
	return ad
}

func TestEval(t *testing.T) {
	ad := evalAd(t)
	for _, c := range []struct{ expr, want string }{
		{"ClusterId == 42", "true"},
		{"ClusterId == 42 && ProcId > 3", "false"},
		{"MY.ProcId * 2 + 1", "7"},
		{"Owner == \"PILOT\"", "true"},
		{"Owner =?= \"PILOT\"", "false"},
		{"Owner is \"pilot\"", "true"},
		{"RequestMemory", "2"},
		{"Nope", "undefined"},
		{"Nope == 1", "undefined"},
		{"Nope =?= undefined", "true"},
		{"false && Nope", "false"},
		{"true || Nope", "true"},
		{"true && Nope", "undefined"},
		{"Nope || true", "true"},
		{"Loop1", "error"},
		{"1 / 0", "error"},
		{"7 / 2", "3"},
		{"7 % 3", "1"},
		{"Ratio * 4", "2.0"},
		{"JobStatus == 1 || JobStatus == 2", "true"},
		{"JobStatus != 2 ? \"x\" : \"y\"", `"y"`},
		{"Nope ?: 5", "5"},
		{"!Done", "true"},
		{"-ProcId", "-3"},
		{"TARGET.Memory", "undefined"},
		{"strcat(Owner, \"-\", ClusterId)", `"pilot-42"`},
		{"toUpper(Owner)", `"PILOT"`},
		{"size(Owner)", "5"},
		{"substr(Owner, 1, 3)", `"ilo"`},
		{"substr(Owner, -2)", `"ot"`},
		{"regexp(\"^pi\", Owner)", "true"},
		{"stringListMember(\"atlas\", Groups)", "true"},
		{"stringListMember(\"alice\", Groups)", "false"},
		{"member(2, L)", "true"},
		{"L[1]", "2"},
		{"L[9]", "error"},
		{"isUndefined(Nope)", "true"},
		{"isError(1/0)", "true"},
		{"isString(Owner)", "true"},
		{"int(\"12\") + 1", "13"},
		{"real(ProcId)", "3.0"},
		{"string(ProcId)", `"3"`},
		{"floor(2.7)", "2"},
		{"round(2.5)", "3"},
		{"nosuchfunction(1)", "error"},
		{"[ a = 1; b = a + 1 ].a", "1"},
		{"1 < \"x\"", "error"},
		{"3 & 5 | 8", "9"},
	} {
		e, err := ParseExpr(c.expr, New)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := Unparse(ad.Eval(e)); got != c.want {
			t.Errorf("%s = %s, want %s", c.expr, got, c.want)
		}
	}
}

func TestMatches(t *testing.T) {
	ad := evalAd(t)
	for expr, want := range map[string]bool{
		"ClusterId == 42": true, "ClusterId == 41": false, "Nope": false, "1/0": false, "ProcId": true, "Done": false,
	} {
		e, err := ParseExpr(expr, Old)
		if err != nil {
			t.Fatal(err)
		}
		if got := ad.Matches(e); got != want {
			t.Errorf("Matches(%s) = %v, want %v", expr, got, want)
		}
	}
}

func FuzzEval(f *testing.F) {
	for _, s := range []string{"ClusterId == 42 && ProcId > 3", "Loop1", "substr(Owner, -2)", "L[1]", "1 << 70", "-(1<<63) / -1", "regexp(\"(\", Owner)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s, New)
		if err != nil {
			return
		}
		ad := evalAd(t)
		_ = Unparse(ad.Eval(e)) // no panic, no endless loop
		_ = ad.Matches(e)
	})
}
