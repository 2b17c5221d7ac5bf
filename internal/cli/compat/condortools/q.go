package condortools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/classad"
)

// runQ is condor_q against the CE's schedd: exit 0 when the schedd
// answered (whatever it holds), 1 otherwise.
func runQ(ctx context.Context, f *cmdutil.Factory, list []string) int {
	o, err := parseQArgs("condor_q", list)
	if err != nil {
		fmt.Fprintln(f.IO.ErrOut, err)
		return 1
	}
	s, ok := connect(ctx, f, o.target)
	if !ok {
		return 1
	}
	defer s.close()
	var who user
	if o.mine() || o.totals || o.table() {
		if who.owner, who.full, err = s.c.Owner(ctx); err != nil {
			qFailed(f, s, err)
			return 1
		}
	}
	owner := who.owner
	ads, err := s.c.QueryAds(ctx, o.constraintExpr(owner), nil)
	if err != nil {
		qFailed(f, s, err)
		return 1
	}
	sortAds(ads)
	if o.limit > 0 && len(ads) > o.limit {
		ads = ads[:o.limit]
	}
	return printQ(ctx, f, s, o, who, ads)
}

// user is who the schedd takes this client for: Owner, and with its domain.
type user struct{ owner, full string }

// qFailed is condor_q's message when the schedd cannot be queried.
func qFailed(f *cmdutil.Factory, s *session, err error) {
	fmt.Fprintf(f.IO.ErrOut, "-- Failed to fetch ads from: %s\n%v\n", s.addr.URL(), err)
}

// table: the output is one of the tables (with the schedd header).
func (o *qOpts) table() bool {
	return !o.long && !o.json && o.af == nil && len(o.formats) == 0
}

func printQ(ctx context.Context, f *cmdutil.Factory, s *session, o *qOpts, who user, ads []*classad.Ad) int {
	w := f.IO.Out
	switch {
	case o.json || o.long:
		withServerTime(ads, f.Now().Unix())
		if o.json {
			printJSON(w, ads, true)
		} else {
			printLong(w, ads)
		}
	case o.af != nil:
		o.af.v24 = o.af.has("h") && o.af.has("j") && s.major(ctx) >= 24
		o.af.print(w, ads)
	case len(o.formats) > 0:
		printFormats(w, ads, o.formats)
	default:
		return printTables(ctx, f, s, o, who, ads)
	}
	return 0
}

// printTables writes the schedd header, the batch (or -nobatch) table
// unless -totals, and the totals lines.
func printTables(ctx context.Context, f *cmdutil.Factory, s *session, o *qOpts, who user, ads []*classad.Ad) int {
	w := f.IO.Out
	name, addr, version, err := s.c.Schedd(ctx)
	if err != nil {
		qFailed(f, s, err)
		return 1
	}
	all, err := s.c.QueryAds(ctx, "true", []string{"ClusterId", "ProcId", "JobStatus", "Owner"})
	if err != nil {
		qFailed(f, s, err)
		return 1
	}
	now := f.Now()
	fmt.Fprintf(w, "\n\n-- Schedd: %s : %s @ %s\n", name, shortSinful(addr), now.Format("01/02/06 15:04:05"))
	if !o.totals {
		if o.nobatch {
			printNoBatch(w, ads, now)
		} else {
			printBatch(w, ads)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Total for query: "+countLine(ads)+" ")
	if o.mine() && who.owner != "" {
		label := who.owner
		if major(version) >= 24 { // HTCondor 24 and later name the user with its domain
			label = who.full
		}
		fmt.Fprintln(w, "Total for "+label+": "+countLine(ownedBy(all, who.owner))+" ")
	}
	fmt.Fprintln(w, "Total for all users: "+countLine(all))
	fmt.Fprintln(w)
	return 0
}

// shortSinful is the schedd's address as condor_q's header shows it: its
// parameters cut to "?...".
func shortSinful(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?..."
	}
	return s
}

func ownedBy(ads []*classad.Ad, owner string) []*classad.Ad {
	var out []*classad.Ad
	for _, ad := range ads {
		if o, _ := ad.Str("Owner"); o == owner {
			out = append(out, ad)
		}
	}
	return out
}

// countLine is "N jobs; C completed, R removed, I idle, R running, H held, S suspended".
func countLine(ads []*classad.Ad) string {
	n := map[int64]int{}
	for _, ad := range ads {
		st, _ := ad.Int("JobStatus")
		n[st]++
	}
	return fmt.Sprintf("%d jobs; %d completed, %d removed, %d idle, %d running, %d held, %d suspended",
		len(ads), n[4], n[3], n[1], n[2], n[5], n[7])
}

// qdate is a submission time as condor_q prints it: "12/7  02:50".
func qdate(ad *classad.Ad) string {
	q, _ := ad.Int("QDate")
	t := time.Unix(q, 0)
	return fmt.Sprintf("%2d/%-2d %02d:%02d", int(t.Month()), t.Day(), t.Hour(), t.Minute())
}

// withServerTime adds ServerTime, which condor_q asks the schedd for (cesub
// takes its own clock: the schedd's is not asked).
func withServerTime(ads []*classad.Ad, now int64) {
	for _, ad := range ads {
		if !ad.Has("ServerTime") {
			ad.SetInt("ServerTime", now)
		}
	}
}

// major is the major number of an HTCondor version ("25.0.1" -> 25; 0 if unknown).
func major(v string) int {
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}
