package submitfile

import (
	"strconv"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/jobgen"
	"github.com/cesub/cesub/pkg/classad"
)

// TestRealShapedProcs checks every proc of the benchmark's real-shaped
// file (internal/jobgen) against the values its queue statements give it:
// 5,000 `queue 1` blocks, each with its own arguments and output, then
// 15,000 items of a `queue … from (…)`. Values that change from proc to
// proc ($(Process), the item variables) must be each proc's own; those
// that do not (the cluster's) must stay right however they are shared.
func TestRealShapedProcs(t *testing.T) {
	const n = 20000
	f, err := Parse("pilot.sub", jobgen.Submit(n), ParseOptions{Options: Options{Dir: "/tmp", Env: func(string) string { return "" }, Now: time.Unix(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Procs) != n || len(f.Warnings) != 0 {
		t.Fatalf("%d procs, warnings %v", len(f.Procs), f.Warnings)
	}
	for i := range f.Procs {
		p := &f.Procs[i]
		want := realShapedWant(i, n/4)
		if p.ProcID != i || p.ClusterID != 1 {
			t.Fatalf("proc %d is %d.%d", i, p.ClusterID, p.ProcID)
		}
		for attr, v := range want.attrs {
			if got, ok := p.Ad.Get(attr); !ok || classad.Unparse(got) != v {
				t.Fatalf("proc %d: %s = %v, want %s", i, attr, got, v)
			}
		}
		for k, v := range want.macros {
			if got, ok := p.Macros.Lookup(k); !ok || got != v {
				t.Fatalf("proc %d: macro %s = %q, want %q", i, k, got, v)
			}
		}
		for k, v := range want.vars {
			if got, ok := p.Vars.Lookup(k); !ok || got != v {
				t.Fatalf("proc %d: var %s = %q, want %q", i, k, got, v)
			}
		}
	}
}

// shapedWant is what one proc of the real-shaped file must have.
type shapedWant struct {
	attrs, macros, vars map[string]string
}

func realShapedWant(i, single int) shapedWant {
	q := func(s string) string { return strconv.Quote(s) }
	s, pr := strconv.Itoa(i), strconv.Itoa(i)
	w := shapedWant{
		attrs: map[string]string{
			"ProcId": pr, "ClusterId": "1", "Iwd": q("/var/lib/factory"), "Cmd": q("/var/lib/factory/runpilot-wrapper.sh"),
			"UserLog":     q("/var/lib/factory/logs/grid.1." + pr + ".log"),
			"Environment": q("PANDA_JSID=harvester-1 HARVESTER_ID=factory-1 GTAG=https://logs.example.org/1"),
			"RequestCpus": "8", "RequestMemory": "16000", "RequestDisk": "20971520", "maxWallTime": "2880",
			"ProjectName": q("atlas"), "harvesterID": q("factory-1"), "ShouldTransferFiles": q("YES"),
			"WhenToTransferOutput": q("ON_EXIT"), "TransferExecutable": "true", "JobUniverse": "5",
		},
		macros: map[string]string{"log": "logs/grid.1." + pr + ".log", "request_disk": "20GB"},
		vars:   map[string]string{"cluster": "1", "process": pr, "procid": pr, "step": "0"},
	}
	if i < single {
		w.attrs["Args"] = q("-s SITE_" + s + " -q QUEUE_" + s + " -j managed --pilot-user ATLAS -w generic")
		w.attrs["Out"] = q("logs/grid.1." + pr + "." + s + ".out")
		w.attrs["Err"] = q("logs/grid.1." + pr + "." + s + ".err")
		w.attrs["harvesterWorkerID"] = q(s)
		w.macros["output"] = "logs/grid.1." + pr + "." + s + ".out"
		return w
	}
	last := strconv.Itoa(single - 1)
	row := strconv.Itoa(i - single)
	w.attrs["Args"] = q("-s SITE_" + s + " -q QUEUE_" + s + " --input /data/input_" + s + ".root")
	w.attrs["Out"] = q("logs/SITE_" + s + "." + pr + ".out")
	w.attrs["Err"] = q("logs/grid.1." + pr + "." + last + ".err") // the last block's error line still holds
	w.attrs["harvesterWorkerID"] = q(last)
	w.attrs["TransferInput"] = q("/data/input_" + s + ".root,config.json")
	w.macros["transfer_input_files"] = "/data/input_" + s + ".root, config.json"
	for k, v := range map[string]string{"site": "SITE_" + s, "queue": "QUEUE_" + s, "input": "/data/input_" + s + ".root", "row": row, "itemindex": row} {
		w.vars[k] = v
	}
	return w
}
