package htcondor

import (
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/pkg/classad"
)

func adOf(t *testing.T, lines string) *classad.Ad {
	t.Helper()
	ad := &classad.Ad{}
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		name, e, err := classad.ParseAttrLine(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		ad.Set(name, e)
	}
	return ad
}

func TestDetailsFromAd(t *testing.T) {
	now := time.Unix(1_800_000_100, 0)
	running := adOf(t, `ClusterId = 12
ProcId = 3
JobStatus = 2
Owner = "pilot"
RemoteHost = "slot1@wn7.example.org"
LastRemoteHost = "slot2@wn1.example.org"
RemoteWallClockTime = 40.0
JobCurrentStartDate = 1800000000
RemoteUserCpu = 7.0
RemoteSysCpu = 2.0
ResidentSetSize = 51200
JobStartDate = 1799999000
NumJobStarts = 2
RequestCpus = 4`)
	d := detailsFromAd(running, now)
	if d.BatchID != "12.3" || d.Owner != "pilot" || len(d.ExecutionNodes) != 1 || d.ExecutionNodes[0] != "slot1@wn7.example.org" {
		t.Errorf("running: %+v", d)
	}
	// the current run counts on top of the earlier runs' wall time
	if d.WallTime == nil || *d.WallTime != 140 || d.CPUTime == nil || *d.CPUTime != 9 || d.MemoryKB == nil || *d.MemoryKB != 51200 {
		t.Errorf("usage: wall %v cpu %v mem %v", d.WallTime, d.CPUTime, d.MemoryKB)
	}
	if d.Starts != 2 || d.RequestedSlots != 4 || d.Started == nil || d.Started.Unix() != 1799999000 || d.Ended != nil {
		t.Errorf("counts and times: %+v", d)
	}

	done := adOf(t, `ClusterId = 12
ProcId = 4
JobStatus = 4
LastRemoteHost = "slot2@wn1.example.org"
RemoteWallClockTime = 61.0
JobCurrentStartDate = 1800000000
CompletionDate = 1800000061
RoutedToJobId = "13.0"`)
	d = detailsFromAd(done, now)
	if d.ExecutionNodes[0] != "slot2@wn1.example.org" || *d.WallTime != 61 || d.Ended == nil || d.BatchID != "13.0" {
		t.Errorf("completed (routed): %+v wall %v", d, *d.WallTime)
	}
	// an idle job: nothing ran, nothing is made up
	d = detailsFromAd(adOf(t, "ClusterId = 1\nProcId = 0\nJobStatus = 1"), now)
	if d.WallTime != nil || d.CPUTime != nil || d.MemoryKB != nil || len(d.ExecutionNodes) != 0 || d.Started != nil {
		t.Errorf("idle: %+v", d)
	}
}
