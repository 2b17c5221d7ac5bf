package classad

import (
	"errors"
	"strings"
	"testing"
)

// TestBudget: each ad within its limits, the answer within its own; an
// expression cut short by the budget is an error, never a shorter value.
func TestBudget(t *testing.T) {
	b := NewBudget(Limits{Attrs: 2, Bytes: 40, Nodes: 5}, AnswerLimits{Ads: 3, Bytes: 200, Nodes: 8})
	want := func(err error, what string) {
		t.Helper()
		var le *LimitError
		if !errors.As(err, &le) || !strings.Contains(le.Error(), what) {
			t.Errorf("got %v, want a refusal: more than %s", err, what)
		}
	}
	if err := b.StartAd(2); err != nil {
		t.Fatal(err)
	}
	if name, e, err := b.ParseAttrLine("A = 1 + 2"); err != nil || name != "A" || Unparse(e) != "1 + 2" {
		t.Fatalf("within the budget: %s %v %v", name, e, err)
	}
	_, _, err := b.ParseAttrLine("B = 1 + 2 + 3") // 5 tokens, 2 left in the ad
	want(err, "5 expression tokens in one ClassAd")
	want(b.StartAd(3), "2 attributes in one ClassAd")
	if err := b.StartAd(1); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.ParseAttrLine("C = 1 + 2 + 3") // 5 tokens, 8-3-2 left in the answer
	want(err, "8 expression tokens in one answer")
	_, _, err = b.ParseAttrLine(`S = "` + strings.Repeat("x", 40) + `"`)
	want(err, "40 bytes of text in one ClassAd")
	if err := b.StartAd(0); err != nil {
		t.Fatal(err)
	}
	want(b.StartAd(0), "3 ClassAds in one answer")

	// without a budget nothing changes
	if e, err := ParseExpr("{"+strings.Repeat("1,", 10000)+"1}", Old); err != nil || len(e.(List)) != 10001 {
		t.Errorf("an unbudgeted list: %v", err)
	}
}
