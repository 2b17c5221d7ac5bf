package condortools

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

// sortAds orders ads by cluster and proc, as the schedd's queue is read.
func sortAds(ads []*classad.Ad) {
	sort.SliceStable(ads, func(i, j int) bool {
		ci, _ := ads[i].Int("ClusterId")
		cj, _ := ads[j].Int("ClusterId")
		if ci != cj {
			return ci < cj
		}
		pi, _ := ads[i].Int("ProcId")
		pj, _ := ads[j].Int("ProcId")
		return pi < pj
	})
}

// batch is one row of the default table: the jobs of one owner and batch
// name (JobBatchName, else "ID: <cluster>").
type batch struct {
	owner, name, submitted string
	count                  map[int64]int
	total                  int
	first, last            [2]int64
}

func batches(ads []*classad.Ad) []*batch {
	var out []*batch
	byKey := map[string]*batch{}
	for _, ad := range ads {
		owner, _ := ad.Str("Owner")
		c, _ := ad.Int("ClusterId")
		p, _ := ad.Int("ProcId")
		name, ok := ad.Str("JobBatchName")
		if !ok || name == "" {
			name = fmt.Sprintf("ID: %d", c)
		}
		b := byKey[owner+"\x00"+name]
		if b == nil {
			b = &batch{owner: owner, name: name, submitted: qdate(ad), count: map[int64]int{}, first: [2]int64{c, p}}
			byKey[owner+"\x00"+name] = b
			out = append(out, b)
		}
		st, _ := ad.Int("JobStatus")
		b.count[st]++
		b.total++
		b.last = [2]int64{c, p}
	}
	return out
}

// ids is the JOB_IDS cell: 386.0-999, 398.0, or 14.0 ... 16.0 across clusters.
func (b *batch) ids() string {
	switch {
	case b.first == b.last:
		return fmt.Sprintf("%d.%d", b.first[0], b.first[1])
	case b.first[0] == b.last[0]:
		return fmt.Sprintf("%d.%d-%d", b.first[0], b.first[1], b.last[1])
	}
	return fmt.Sprintf("%d.%d ... %d.%d", b.first[0], b.first[1], b.last[0], b.last[1])
}

func cell(n int) string {
	if n == 0 {
		return "_"
	}
	return fmt.Sprint(n)
}

// printBatch is condor_q's default table; a HOLD column is shown when
// some job is held (or no job is listed), as condor_q does.
func printBatch(w io.Writer, ads []*classad.Ad) {
	bs := batches(ads)
	ow, nw, hold := 5, 11, len(bs) == 0
	for _, b := range bs {
		ow, nw = max(ow, len(b.owner)), max(nw, len(b.name))
		hold = hold || b.count[5] > 0
	}
	cols := "    SUBMITTED   DONE   RUN    IDLE  TOTAL JOB_IDS"
	if hold {
		cols = "    SUBMITTED   DONE   RUN    IDLE   HOLD  TOTAL JOB_IDS"
	}
	fmt.Fprintf(w, "%-*s %-*s%s\n", ow, "OWNER", nw-1, "BATCH_NAME", cols)
	for _, b := range bs {
		line := fmt.Sprintf("%-*s %-*s %11s %6s %6s %6s", ow, b.owner, nw, b.name, b.submitted,
			cell(b.count[4]), cell(b.count[2]+b.count[6]+b.count[7]), cell(b.count[1]))
		if hold {
			line += fmt.Sprintf(" %6s", cell(b.count[5]))
		}
		fmt.Fprintf(w, "%s %6d %s\n", line, b.total, b.ids())
	}
}

// stCode is the ST column's letter of a JobStatus.
var stCode = map[int64]string{1: "I", 2: "R", 3: "X", 4: "C", 5: "H", 6: ">", 7: "S"}

// printNoBatch is condor_q -nobatch: a row per job.
func printNoBatch(w io.Writer, ads []*classad.Ad, now time.Time) {
	fmt.Fprintln(w, " ID      OWNER            SUBMITTED     RUN_TIME ST PRI SIZE CMD")
	for _, ad := range ads {
		owner, _ := ad.Str("Owner")
		st, _ := ad.Int("JobStatus")
		prio, _ := ad.Int("JobPrio")
		fmt.Fprintf(w, "%s %-14s %11s %12s %-2s %-3d %4.1f %s\n", idCell(ad), owner, qdate(ad), runTime(ad, now),
			stCode[st], prio, imageMB(ad), command(ad))
	}
}

// runTime is RemoteWallClockTime plus the current run, as d+hh:mm:ss.
func runTime(ad *classad.Ad, now time.Time) string {
	secs := int64(0)
	if v, ok := toNumber(ad.EvalAttr("RemoteWallClockTime")); ok {
		secs = int64(v)
	}
	if st, _ := ad.Int("JobStatus"); st == 2 {
		if start, ok := ad.Int("JobCurrentStartDate"); ok && start > 0 {
			secs += max(0, now.Unix()-start)
		}
	}
	return fmt.Sprintf("%d+%02d:%02d:%02d", secs/86400, secs%86400/3600, secs%3600/60, secs%60)
}

func imageMB(ad *classad.Ad) float64 {
	v, _ := toNumber(ad.EvalAttr("ImageSize"))
	return v / 1024
}

// command is the CMD column: the executable's base name and the arguments.
func command(ad *classad.Ad) string {
	cmd, _ := ad.Str("Cmd")
	out := path.Base(cmd)
	if a, ok := ad.Str("Arguments"); ok && a != "" {
		out += " " + a
	} else if a, ok := ad.Str("Args"); ok && a != "" {
		out += " " + a
	}
	return strings.TrimSpace(out)
}
