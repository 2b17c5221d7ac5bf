package cedar

import (
	"errors"
	"fmt"

	"github.com/cesub/cesub/pkg/classad"
)

// What a peer may make this process hold, before and after it has
// authenticated. A pilot factory runs many cesub processes under one memory
// limit, and the security negotiation is in clear: anyone on the path can
// answer it. Every budget is checked as the bytes arrive, so that a peer
// past one is refused after at most that many bytes, and each keeps the
// process under 150 MB whatever the peer sends. Real sizes (HTCondor
// 23.9, shared/reference/htcondor-ce: ping-trace.log, dryrun-job-ads.txt):
// a negotiation ad has about 15 attributes in about 1 KB, a job ad 70 to
// 300 attributes in 2 to 10 KB, a schedd ad with its statistics up to about
// 2000 attributes in 100 KB.
const (
	// preAuthMessage: one message before authentication. The negotiation
	// ad is about 1 KB, the other messages are integers.
	preAuthMessage = 64 << 10
	// preAuthTunnelMessage: a message of the TLS tunnel (SSL and SCITOKENS
	// methods) carries a TLS flight with the CE's certificate chain,
	// usually under 10 KB; HTCondor sends up to 1 MiB (AUTH_SSL_BUF_SIZE).
	// These are raw bytes, not decoded: they cost their size.
	preAuthTunnelMessage = sslMaxBuf + 16
	// preAuthAttrs: attributes in a negotiation ad (about 15 in practice).
	preAuthAttrs = 256
	// preAuthNodes: expression tokens in a negotiation ad, whose values
	// are literals (one token each).
	preAuthNodes = 4096
	// preAuthAds: ads in one answer before authentication; a negotiation
	// answer is one ad. (A daemon that declines to authenticate is
	// refused at its negotiation answer: auth.go, requireAuthentication.)
	preAuthAds = 16

	// MaxMessage: one message after authentication. The largest real ones
	// are a collector's answer (every schedd ad in one message: a few per
	// CE), a file chunk (at most 1 MiB) and one job ad.
	MaxMessage = 16 << 20
	// postAuthAttrs: attributes in one ad, 5 times a schedd ad with all
	// its statistics.
	postAuthAttrs = 10000
	// postAuthAdBytes: the text of one ad, some 1000 times a job ad; a
	// long TransferInput or Environment reaches a few 100 KB.
	postAuthAdBytes = 8 << 20
	// postAuthAdNodes: expression tokens in one ad (a job ad has 1000 to
	// 3000), about 8 MB decoded.
	postAuthAdNodes = 256 << 10
	// postAuthAnswerAds: ads in one answer (a queue query, the history,
	// a collector's list): HTCondor's MAX_JOBS_PER_OWNER default.
	postAuthAnswerAds = 100000
	// postAuthAnswerBytes: the text of all ads of one answer: 40000 job
	// ads as status asks for them (about 400 bytes each).
	postAuthAnswerBytes = 16 << 20
	// postAuthAnswerNodes: expression tokens of all ads of one answer
	// (about 15 per job ad as status asks for them), at most 32 MB decoded.
	postAuthAnswerNodes = 1 << 20

	// typeNameMax: an ad's MyType or TargetType ("Job", "Scheduler"),
	// which receivers ignore.
	typeNameMax = 1024
)

// Limits bound what one peer's messages may cost.
type Limits struct {
	Message int                  // bytes of one message
	Ad      classad.Limits       // one ad
	Answer  classad.AnswerLimits // one answer of many ads
}

// PreAuthLimits are the limits until the peer has authenticated.
func PreAuthLimits() Limits {
	return Limits{Message: preAuthMessage,
		Ad:     classad.Limits{Attrs: preAuthAttrs, Bytes: preAuthMessage, Nodes: preAuthNodes},
		Answer: classad.AnswerLimits{Ads: preAuthAds, Bytes: preAuthMessage, Nodes: preAuthNodes}}
}

// PostAuthLimits are the limits once the peer has authenticated (inside
// AES-GCM with the key of an authenticated session).
func PostAuthLimits() Limits {
	return Limits{Message: MaxMessage,
		Ad:     classad.Limits{Attrs: postAuthAttrs, Bytes: postAuthAdBytes, Nodes: postAuthAdNodes},
		Answer: classad.AnswerLimits{Ads: postAuthAnswerAds, Bytes: postAuthAnswerBytes, Nodes: postAuthAnswerNodes}}
}

// LimitError is a peer's message refused past a budget.
type LimitError struct {
	Peer    string // host:port
	PreAuth bool   // before the peer authenticated
	Err     *classad.LimitError
}

func (e *LimitError) Error() string {
	when := "after authentication"
	if e.PreAuth {
		when = "before authentication"
	}
	return fmt.Sprintf("%s sent %s (cesub's limit %s); refused", e.Peer, e.Err, when)
}

func (e *LimitError) Unwrap() error { return e.Err }

// limitErr wraps a budget's refusal with the peer (other errors pass).
func (c *Conn) limitErr(err error) error {
	var le *classad.LimitError
	if errors.As(err, &le) {
		return &LimitError{Peer: c.peer, PreAuth: !c.authed, Err: le}
	}
	return err
}

// authenticated raises the limits: the peer proved who it is and what
// follows is inside AES-GCM with that session's key.
func (c *Conn) authenticated() {
	c.authed = true
	c.lim = PostAuthLimits()
}

// allowMessage lets the current message reach n bytes (at least the
// current limit); the returned func restores the limit.
func (c *Conn) allowMessage(n int) func() {
	old := c.lim.Message
	c.lim.Message = max(n, old)
	return func() { c.lim.Message = old }
}

// NewAnswer starts the budget of an answer of at most maxAds ads (what was
// asked; 0: the limit alone), within the connection's current limits.
func (c *Conn) NewAnswer(maxAds int) *classad.Budget {
	a := c.lim.Answer
	if maxAds > 0 {
		a.Ads = min(a.Ads, maxAds)
	}
	return classad.NewBudget(c.lim.Ad, a)
}
