package classad

import (
	"fmt"
	"strings"
)

// Limits bound what decoding one ClassAd from a peer may cost.
type Limits struct {
	// Attrs: attributes in one ad.
	Attrs int
	// Bytes: the text of one ad, the sum of its attribute lines; so also
	// the longest string or list one attribute may hold.
	Bytes int
	// Nodes: expression tokens in one ad (every literal, reference,
	// operator, list or argument separator). An expression node takes at
	// least one token, so this bounds the size of an expression and the
	// length of a list; a node costs at most about 32 bytes decoded.
	Nodes int
}

// AnswerLimits bound an answer of many ads (a queue query, the history, a
// collector's list) across all its ads.
type AnswerLimits struct {
	Ads   int // ads in the answer
	Bytes int // their text, all attribute lines together
	Nodes int // their expression tokens together
}

// LimitError is decoding refused past a budget.
type LimitError struct {
	What  string // what was counted, e.g. "attributes in one ClassAd"
	Limit int
}

func (e *LimitError) Error() string { return fmt.Sprintf("more than %d %s", e.Limit, e.What) }

// Budget is what an answer may still cost while it is decoded: each ad
// within Limits, all of them within AnswerLimits. One Budget serves one
// answer, read by one goroutine.
type Budget struct {
	ad     Limits
	answer AnswerLimits

	ads, bytes, nodes int // spent by the answer
	adBytes, adNodes  int // spent by the current ad
}

// NewBudget starts an answer's budget.
func NewBudget(ad Limits, answer AnswerLimits) *Budget {
	return &Budget{ad: ad, answer: answer}
}

// StartAd counts a new ad that announces n attributes.
func (b *Budget) StartAd(n int64) error {
	if b.ads >= b.answer.Ads {
		return &LimitError{What: "ClassAds in one answer", Limit: b.answer.Ads}
	}
	if n < 0 || n > int64(b.ad.Attrs) {
		return &LimitError{What: "attributes in one ClassAd", Limit: b.ad.Attrs}
	}
	b.ads++
	b.adBytes, b.adNodes = 0, 0
	return nil
}

// LineMax is the longest attribute line the current ad may still take:
// a reader refuses a longer one before it has read it whole.
func (b *Budget) LineMax() int {
	return min(b.ad.Bytes-b.adBytes, b.answer.Bytes-b.bytes)
}

// LineError names the budget a line longer than LineMax goes past.
func (b *Budget) LineError() error {
	if b.ad.Bytes-b.adBytes <= b.answer.Bytes-b.bytes {
		return &LimitError{What: "bytes of text in one ClassAd", Limit: b.ad.Bytes}
	}
	return &LimitError{What: "bytes of text in one answer", Limit: b.answer.Bytes}
}

// ParseAttrLine is ParseAttrLine within the budget: the line's bytes and
// its expression's tokens are charged to the ad and the answer, and the
// parse stops at the first token past either.
func (b *Budget) ParseAttrLine(line string) (string, Expr, error) {
	if len(line) > b.LineMax() {
		return "", nil, b.LineError()
	}
	b.adBytes += len(line)
	b.bytes += len(line)
	left := min(b.ad.Nodes-b.adNodes, b.answer.Nodes-b.nodes)
	over := &LimitError{What: "expression tokens in one ClassAd", Limit: b.ad.Nodes}
	if b.ad.Nodes-b.adNodes > b.answer.Nodes-b.nodes {
		over = &LimitError{What: "expression tokens in one answer", Limit: b.answer.Nodes}
	}
	name, e, used, err := parseAttrLine(line, left, over)
	b.adNodes += used
	b.nodes += used
	if err != nil {
		return "", nil, err
	}
	// the name alone is kept, not the line it was cut from
	return strings.Clone(name), e, nil
}
