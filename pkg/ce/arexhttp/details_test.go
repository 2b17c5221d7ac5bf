package arexhttp

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/ce"
)

func TestParseDetails(t *testing.T) {
	local := "globalid=abc\nqueue=short\nlocalid=4711.batch\nsubject=/DC=org/CN=someone\nstarttime=20261205111218Z\n" +
		"clientname=192.0.2.7:34458\ncleanuptime=20261212111228Z\ndelegexpiretime=20261206111218Z\n"
	diag := "nodename=wn1\nnodename=wn2\nProcessors=8\nWallTime=2.62s\nKernelTime=1.40s\nUserTime=3.70s\n" +
		"MaxResidentMemory=2MB\nLRMSStartTime=20261205111219Z\nLRMSEndTime=20261205111221Z\nwalltime=3\nexitcode=0\n"
	d := ParseDetails(local, diag)
	if d.Queue != "short" || d.BatchID != "4711.batch" || d.Owner != "/DC=org/CN=someone" || d.SubmittedFrom != "192.0.2.7" {
		t.Errorf("from local: %+v", d)
	}
	if !reflect.DeepEqual(d.ExecutionNodes, []string{"wn1", "wn2"}) || d.RequestedSlots != 8 {
		t.Errorf("nodes %v slots %d", d.ExecutionNodes, d.RequestedSlots)
	}
	// the batch system's walltime wins over the wrapper's; CPU is user+kernel (rounded each)
	if d.WallTime == nil || *d.WallTime != 3 || d.CPUTime == nil || *d.CPUTime != 5 || d.MemoryKB == nil || *d.MemoryKB != 2048 {
		t.Errorf("usage: wall %v cpu %v mem %v", d.WallTime, d.CPUTime, d.MemoryKB)
	}
	if d.Started == nil || d.Started.Format(time.RFC3339) != "2026-12-05T11:12:19Z" || d.Ended == nil ||
		d.EraseTime == nil || d.ProxyExpires == nil || d.ProxyExpires.Day() != 6 {
		t.Errorf("times: %+v", d)
	}
	// no delegation: A-REX writes the submission time as the proxy's expiry
	if d := ParseDetails("starttime=20261205111218Z\ndelegexpiretime=20261205111218Z\n", ""); d.ProxyExpires != nil {
		t.Errorf("a proxy expiry equal to the submission time is shown: %v", d.ProxyExpires)
	}
	// a queued job: no diag yet; garbage is ignored, not guessed
	d = ParseDetails("queue=q\n", "")
	if d.WallTime != nil || d.CPUTime != nil || d.MemoryKB != nil || d.Started != nil || len(d.ExecutionNodes) != 0 {
		t.Errorf("queued job has usage: %+v", d)
	}
	d = ParseDetails("cleanuptime=tomorrow\n", "WallTime=-1s\nMaxResidentMemory=lots\n")
	if d.WallTime != nil || d.MemoryKB != nil || d.EraseTime != nil {
		t.Errorf("garbage read as values: %+v", d)
	}
}

func TestFetchDetails(t *testing.T) {
	rs := []ce.Result{{ID: "a", Job: &ce.Job{LocalID: "a"}}, {ID: "b", Err: errors.New("not found")}, {ID: "c", Job: &ce.Job{LocalID: "c"}}}
	asked := map[string]int{}
	FetchDetails(context.Background(), rs, func(_ context.Context, id, name string) (string, error) {
		if id == "c" {
			return "", errors.New("404") // a file the CE lacks leaves the fields empty
		}
		asked[id+"/"+name]++
		if name == "local" {
			return "queue=q-" + id + "\n", nil
		}
		return "nodename=n-" + id + "\n", nil
	})
	if rs[0].Job.Details == nil || rs[0].Job.Details.Queue != "q-a" || rs[0].Job.Details.ExecutionNodes[0] != "n-a" {
		t.Errorf("a: %+v", rs[0].Job.Details)
	}
	if rs[2].Job.Details == nil || rs[2].Job.Details.Queue != "" {
		t.Errorf("c: %+v", rs[2].Job.Details)
	}
	if asked["b/local"] != 0 || asked["a/local"] != 1 || asked["a/diag"] != 1 {
		t.Errorf("requests: %v", asked)
	}
}
