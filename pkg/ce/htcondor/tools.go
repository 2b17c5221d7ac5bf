package htcondor

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// What HTCondor's own tools (condor_q, condor_history, condor_rm, …) ask a
// schedd, for the drop-in emulation of those tools: raw job ads with any
// constraint and projection, and job actions by id or by constraint.

// QueryAds returns the queue's job ads that match constraint ("" or
// "true": all) with the attributes of projection (none: every attribute),
// as condor_q -name asks them.
func (c *Client) QueryAds(ctx context.Context, constraint string, projection []string) ([]*classad.Ad, error) {
	if err := c.checkToken(ctx, "status"); err != nil {
		return nil, err
	}
	return c.query(ctx, constraint, strings.Join(projection, " "))
}

// HistoryAds returns the schedd's history ads (newest first) that match
// constraint, at most max (0: all), as condor_history -name asks them.
func (c *Client) HistoryAds(ctx context.Context, constraint string, projection []string, max int) ([]*classad.Ad, error) {
	if err := c.checkToken(ctx, "status"); err != nil {
		return nil, err
	}
	if constraint == "" {
		constraint = "true"
	}
	return c.history(ctx, constraint, projection, max)
}

// Action is a job action of the tools: "hold", "release" or "remove".
type Action string

// Action names.
const (
	ActHold    Action = "hold"
	ActRelease Action = "release"
	ActRemove  Action = "remove"
)

// ActResult is the schedd's answer for one job of an action.
type ActResult struct {
	ID   string // C.P
	Code int    // 1 done, 2 not found, 3 wrong state, 4 done already, 5 permission denied, 0 error
}

// Act applies action to the jobs ids names (C.P, or C for a whole
// cluster) or, with ids empty, to those constraint selects; reason is the
// HoldReason/RemoveReason/ReleaseReason the schedd records. It returns the
// per-job results, ordered by id, as condor_rm prints them.
func (c *Client) Act(ctx context.Context, action Action, ids []string, constraint, reason string) ([]ActResult, error) {
	res, err := c.toolAct(ctx, action, ids, constraint, reason)
	if err != nil {
		return nil, err
	}
	return actResults(res), nil
}

// Bulk is the schedd's answer to a job action by constraint.
type Bulk struct {
	Jobs []ActResult // per job, ordered by id (other users' jobs: permission denied)
	// Done is the schedd's ActionResult: the action was done on at least
	// one job (what the real tools print "All jobs … have been …" for).
	Done bool
	// TotalJobAds is the number of job ads the schedd holds (all users';
	// -1: the answer lacks it). When nothing was acted on, condor_rm
	// reads 0 as "There are no jobs in the queue", not as a failure.
	TotalJobAds int
}

// ActBulk is Act on the jobs constraint selects, with the schedd's count
// of job ads.
func (c *Client) ActBulk(ctx context.Context, action Action, constraint, reason string) (Bulk, error) {
	res, err := c.toolAct(ctx, action, nil, constraint, reason)
	if err != nil {
		return Bulk{}, err
	}
	b := Bulk{Jobs: actResults(res), TotalJobAds: -1}
	r, ok := res.Int("ActionResult")
	if !ok {
		return b, nil // the real tools count a missing ActionResult as a failure
	}
	b.Done = r == 1
	if n, ok := res.Int("TotalJobAds"); ok {
		b.TotalJobAds = int(n)
	}
	return b, nil
}

// toolAct sends one ACT_ON_JOBS request and returns the schedd's answer.
func (c *Client) toolAct(ctx context.Context, action Action, ids []string, constraint, reason string) (*classad.Ad, error) {
	ja, attr, err := actionOf(action)
	if err != nil {
		return nil, err
	}
	if err := c.checkToken(ctx, "cancel"); err != nil {
		return nil, err
	}
	req := &classad.Ad{}
	req.SetInt("JobAction", int64(ja))
	req.SetInt("ActionResultType", 1) // per job
	if len(ids) > 0 {
		req.SetString("ActionIds", strings.Join(ids, ","))
	} else {
		e, err := classad.ParseExpr(constraint, classad.Old)
		if err != nil {
			return nil, fmt.Errorf("constraint %q: %w", constraint, err)
		}
		req.Set("ActionConstraint", e)
	}
	req.SetString(attr, reason)
	res, err := c.actRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	c.debugf("job action %s: the schedd answered\n%s", action, res.Long())
	return res, nil
}

func actionOf(a Action) (jobAction, string, error) {
	switch a {
	case ActHold:
		return jaHold, "HoldReason", nil
	case ActRelease:
		return jaRelease, "ReleaseReason", nil
	case ActRemove:
		return jaRemove, "RemoveReason", nil
	}
	return 0, "", fmt.Errorf("unknown job action %q", a)
}

// actResults reads the job_C_P attributes of an ACT_ON_JOBS answer.
func actResults(res *classad.Ad) []ActResult {
	var out []ActResult
	for _, a := range res.Attrs {
		rest, ok := strings.CutPrefix(a.Name, "job_")
		if !ok {
			continue
		}
		id := strings.Replace(rest, "_", ".", 1)
		if c, ok := strings.CutSuffix(id, ".-1"); ok && digits(c) {
			id = c // a whole cluster (ActionIds named it without a proc)
		} else if _, _, err := parseProcID(id); err != nil {
			continue
		}
		n, _ := a.Expr.(classad.Int)
		out = append(out, ActResult{ID: id, Code: int(n)})
	}
	sort.SliceStable(out, func(i, j int) bool { return procLess(out[i].ID, out[j].ID) })
	return out
}

// Schedd is the schedd's name, address (its sinful string) and HTCondor
// version, as condor_q's header shows them.
func (c *Client) Schedd(ctx context.Context) (name, addr, version string, err error) {
	s, err := c.locate(ctx)
	if err != nil {
		return "", "", "", err
	}
	return s.Name, s.Addr.Raw, s.Version, nil
}

// Owner is the user the schedd maps this client's credential to, without
// the domain (Owner) and with it (User), as condor_q shows only that
// user's jobs by default: one authenticated DC_SEC_QUERY.
func (c *Client) Owner(ctx context.Context) (owner, user string, err error) {
	if err := c.checkToken(ctx, "status"); err != nil {
		return "", "", err
	}
	s, err := c.locate(ctx)
	if err != nil {
		return "", "", err
	}
	ctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	conn, sess, err := c.dial(ctx, s.Addr, cedar.CmdDCSecQuery, cedar.CmdDCNopRead)
	if err != nil {
		return "", "", err
	}
	conn.Close()
	owner, _, _ = strings.Cut(sess.User, "@")
	return owner, sess.User, nil
}

// pingCommands are the DC_NOP_<LEVEL> commands condor_ping sends for each
// authorization level (DC_NOP_READ … DC_NOP_ADVERTISE_MASTER).
var pingCommands = map[string]int{"READ": 60020, "WRITE": 60021, "NEGOTIATOR": 60022, "ADMINISTRATOR": 60023,
	"OWNER": 60024, "CONFIG": 60025, "DAEMON": 60026, "ADVERTISE_STARTD": 60027, "ADVERTISE_SCHEDD": 60028,
	"ADVERTISE_MASTER": 60029}

// LevelAnswer is what the schedd says of one authorization level, as
// condor_ping -table shows it.
type LevelAnswer struct {
	Level, Verdict string // ALLOW, DENIED
	User           string // the identity the schedd mapped the credential to
	Method, Crypto string // SCITOKENS, AES
	Err            error  // not answered (then Verdict is "")
}

// PingLevel asks the schedd (DC_SEC_QUERY) about one authorization level
// (READ, WRITE, ADMINISTRATOR, …, or a command number).
func (c *Client) PingLevel(ctx context.Context, level string) LevelAnswer {
	out := LevelAnswer{Level: strings.ToUpper(level)}
	cmd, ok := pingCommands[out.Level]
	if !ok {
		out.Err = fmt.Errorf("unknown authorization level %q", level)
		return out
	}
	s, err := c.locate(ctx)
	if err != nil {
		out.Err = err
		return out
	}
	ctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	a := c.secQuery(ctx, s, cmd)
	out.Verdict, out.User, out.Method, out.Crypto, out.Err = a.verdict, a.user, a.method, a.crypto, a.err
	return out
}

// procLess orders C.P ids (and bare cluster ids, first in their cluster).
func procLess(a, b string) bool {
	ac, ap, _ := strings.Cut(a, ".")
	bc, bp, _ := strings.Cut(b, ".")
	if len(ac) != len(bc) || ac != bc {
		return len(ac) < len(bc) || len(ac) == len(bc) && ac < bc
	}
	return len(ap) < len(bp) || len(ap) == len(bp) && ap < bp
}
