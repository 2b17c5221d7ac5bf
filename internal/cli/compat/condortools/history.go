package condortools

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
	"github.com/cesub/cesub/pkg/classad"
)

// runHistory is condor_history -name: the schedd's history (newest
// first), with ids, -constraint, -limit, -af, -format, -json, -long.
func runHistory(ctx context.Context, f *cmdutil.Factory, list []string) int {
	o, err := parseQArgs("condor_history", list)
	if err != nil {
		fmt.Fprintln(f.IO.ErrOut, err)
		return 1
	}
	o.allUsers = true // condor_history shows every user's jobs unless given a user
	s, ok := connect(ctx, f, o.target)
	if !ok {
		return 1
	}
	defer s.close()
	ads, err := s.c.HistoryAds(ctx, o.constraintExpr(""), nil, o.limit)
	if err != nil {
		errorf(f, "%v", err)
		return 1
	}
	w := f.IO.Out
	switch {
	case o.json:
		printJSON(w, ads, false)
	case o.long:
		printLong(w, ads)
	case o.af != nil:
		o.af.v24 = o.af.has("h") && o.af.has("j") && s.major(ctx) >= 24
		o.af.print(w, ads)
	case len(o.formats) > 0:
		printFormats(w, ads, o.formats)
	case s.major(ctx) >= 24:
		printHistoryTable24(w, ads)
	default:
		printHistoryTable(w, ads)
	}
	return 0
}

// printHistoryTable is condor_history's default table.
func printHistoryTable(w io.Writer, ads []*classad.Ad) {
	fmt.Fprintln(w, " ID     OWNER          SUBMITTED   RUN_TIME     ST COMPLETED   CMD            ")
	for _, ad := range ads {
		owner, _ := ad.Str("Owner")
		st, _ := ad.Int("JobStatus")
		done, run := "", ""
		if c, ok := ad.Int("CompletionDate"); ok && c > 0 {
			t := time.Unix(c, 0)
			done = fmt.Sprintf("%2d/%-2d %02d:%02d", int(t.Month()), t.Day(), t.Hour(), t.Minute())
		}
		if v, ok := toNumber(ad.EvalAttr("RemoteWallClockTime")); ok && v > 0 {
			run = runTime(ad, time.Time{})
		}
		fmt.Fprintf(w, "%-7s %-14s %11s %12s %-2s %11s %-15s\n", jobID(ad), owner, qdate(ad), run, stCode[st], done, fullCommand(ad))
	}
}

// fullCommand is condor_history's CMD: the executable as the ad has it
// (the full path once the job has left the queue) and the arguments.
func fullCommand(ad *classad.Ad) string {
	cmd, _ := ad.Str("Cmd")
	if a, ok := ad.Str("Arguments"); ok && a != "" {
		return cmd + " " + a
	}
	if a, ok := ad.Str("Args"); ok && a != "" {
		return cmd + " " + a
	}
	return cmd
}

// printHistoryTable24 is condor_history's table from HTCondor 24 on: a
// wider id column, RUN_TIME always, the executable's base name.
func printHistoryTable24(w io.Writer, ads []*classad.Ad) {
	fmt.Fprintln(w, " ID          OWNER            SUBMITTED   RUN_TIME   ST   COMPLETED CMD")
	for _, ad := range ads {
		owner, _ := ad.Str("Owner")
		st, _ := ad.Int("JobStatus")
		done := ""
		if c, ok := ad.Int("CompletionDate"); ok && c > 0 {
			t := time.Unix(c, 0)
			done = fmt.Sprintf("%2d/%-2d %02d:%02d", int(t.Month()), t.Day(), t.Hour(), t.Minute())
		}
		fmt.Fprintf(w, "%-12s %-14s %11s %12s %-2s %11s %s\n", jobID(ad), owner, qdate(ad), runTime(ad, time.Time{}), stCode[st], done, command(ad))
	}
}
