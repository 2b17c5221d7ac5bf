package arctools

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/pkg/ce"
)

func TestGeneralState(t *testing.T) {
	for _, c := range []struct {
		job  *ce.Job
		want string
	}{
		{nil, "Undefined"},
		{&ce.Job{Flavour: ce.ARC, State: ce.StateQueuing, RawState: "SUBMITTING"}, "Submitting"},
		{&ce.Job{Flavour: ce.ARC, State: ce.StateQueuing, RawState: "SUBMIT"}, "Submitting"},
		{&ce.Job{Flavour: ce.ARC, State: ce.StateRunning, RawState: "KILLING"}, "Running"},
		{&ce.Job{Flavour: ce.ARC, State: ce.StateFailed, RawState: "FINISHED"}, "Failed"},
		{&ce.Job{Flavour: ce.ARC, State: ce.StateDeleted, RawState: "WIPED"}, "Deleted"},
		{&ce.Job{Flavour: ce.EMIES, State: ce.StateHeld, RawState: "processing-queued"}, "Hold"},
		{&ce.Job{Flavour: ce.EMIES, State: ce.StateUnknown}, "Other"},
	} {
		if got := generalState(c.job); got != c.want {
			t.Errorf("generalState(%+v) = %q, want %q", c.job, got, c.want)
		}
	}
}

// TestJSONAsARC7: arcstat -J is valid JSON with ARC's field names, an
// exit code a number, jobs separated as ARC separates them.
func TestJSONAsARC7(t *testing.T) {
	zero, one := 0, 1
	list := []jobState{
		{arc: arcjoblist.Job{ID: "https://h/arex/rest/1.0/jobs/a", Name: `q"uote`}, general: "Finished",
			job: &ce.Job{State: ce.StateFinished, ExitCode: &zero}},
		{arc: arcjoblist.Job{ID: "https://h/arex/rest/1.0/jobs/b"}, general: "Failed", specific: "FAILED",
			job: &ce.Job{State: ce.StateFailed, ExitCode: &one, Errors: []string{"LRMS error"}}},
	}
	var w bytes.Buffer
	printStates(&w, list, statOptions{json: true, long: true})
	var doc struct{ Jobs []map[string]any }
	if err := json.Unmarshal(w.Bytes(), &doc); err != nil || len(doc.Jobs) != 2 {
		t.Fatalf("not JSON: %v\n%s", err, w.String())
	}
	a, b := doc.Jobs[0], doc.Jobs[1]
	if a["name"] != `q"uote` || a["state"] != "Finished" || a["exitCode"] != 0.0 || b["name"] != nil ||
		b["specificState"] != "FAILED" || b["exitCode"] != 1.0 || b["jobError"].([]any)[0] != "LRMS error" {
		t.Errorf("fields: %v", doc.Jobs)
	}
	if !bytes.HasPrefix(w.Bytes(), []byte("{\"jobs\": [\n{\n \"id\": ")) || !bytes.HasSuffix(w.Bytes(), []byte("}\n]}\n")) {
		t.Errorf("layout:\n%s", w.String())
	}
}

func TestOnCluster(t *testing.T) {
	j := arcjoblist.Job{ServiceURL: "https://ce.example.org:8443/arex"}
	// as the real ARC 6.17 arcstat -c/-r selects (compared on the testbed: TestArcDropInRest)
	for c, want := range map[string]bool{"https://ce.example.org:8443/arex": true, "ce.example.org": true,
		"ce.example.org:8443": true, "other.example.org": false, "https://ce.example.org:8443/arex2": false,
		"ce.example.org:8443/arex": true, "https://ce.example.org/arex": true, "https://CE.example.org:8443/arex/": true,
		"https://ce.example.org:8443": true, "https://ce.example.org:8444/arex": false, "ce.example.org.uk": false,
		"https://ce.example.org:8443/arex/rest/1.0": false, "": false, "https://": false} {
		if got := onCluster(j, c); got != want {
			t.Errorf("onCluster(%q) = %v", c, got)
		}
	}
}

func TestUnknownOption(t *testing.T) {
	for in, want := range map[string]string{"unknown flag: --bogus": "Unknown option --bogus",
		"unknown shorthand flag: 'y' in -y": "Unknown option -y"} {
		if got := unknownOption(errors.New(in)); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

// TestActionable: resume and renew pass over jobs without information and
// ended ones (not Failed: a failed job is what arcresume is for).
func TestActionable(t *testing.T) {
	var list []jobState
	for _, g := range []string{"Running", "Finished", "Killed", "Deleted", "Failed", "Queuing", "Undefined"} {
		st := jobState{arc: arcjoblist.Job{ID: g}, general: g, job: &ce.Job{}}
		if g == "Undefined" {
			st.job = nil // the CE had no information on it
		}
		list = append(list, st)
	}
	var got []string
	for _, st := range actionable(list) {
		got = append(got, st.general)
	}
	if want := []string{"Running", "Failed", "Queuing"}; !slices.Equal(got, want) {
		t.Errorf("actionable: %v, want %v", got, want)
	}
	if delegated(list) {
		t.Error("delegated without a delegation id")
	}
	list[0].arc.DelegationID = "d1"
	if !delegated(list) {
		t.Error("delegated missed d1")
	}
}

// TestInfoLong: arcinfo -l's blocks carry ARC's labels (Share Information,
// Health and Serving state under the endpoint, periods as ARC writes them).
func TestInfoLong(t *testing.T) {
	info := &ce.Info{Endpoint: "https://h:1/arex", Implementation: "nordugrid-arc", Version: "7.1.0", HealthState: "ok",
		Queues: []ce.Queue{{Name: "fork", MaxWallTime: 5400, FreeSlots: 2, Published: ce.CountFreeSlots}}}
	var w bytes.Buffer
	printLong(&w, "h", "org.nordugrid.arcrest", "production", info)
	want := "Computing service:\n  Name: h\n\n  Endpoint Information:\n    URL: https://h:1/arex\n    Interface: org.nordugrid.arcrest\n" +
		"    Implementation name: nordugrid-arc-7.1.0\n    Health state: ok\n    Serving state: production\n\n" +
		"  Share Information:\n    Name: fork\n    Mapping queue: fork\n    Max wall-time: 1 hour 30 minutes\n    Free slots: 2\n"
	if w.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", w.String(), want)
	}
	for sec, want := range map[int64]string{0: "0 seconds", 1: "1 second", 61: "1 minute 1 second", 7200: "2 hours"} {
		if got := period(sec); got != want {
			t.Errorf("period(%d) = %q, want %q", sec, got, want)
		}
	}
}

// TestPruned: arcsync without -T drops the listed jobs of a CE that
// answered and no longer holds them (as the real ARC 6.17 arcsync does on
// the testbed: TestArcDropInRest), keeps other CEs' and keeps all when the
// CE listed nothing.
func TestPruned(t *testing.T) {
	a, b := "https://h:1/arex", "https://h:2/arex"
	job := func(ce, id string) arcjoblist.Job {
		return arcjoblist.Job{ID: ce + "/rest/1.0/jobs/" + id, IDFromEndpoint: id, ServiceURL: ce}
	}
	have := []arcjoblist.Job{job(a, "kept"), job(a, "gone"), job(b, "other")}
	found := []arcjoblist.Job{job(a, "kept"), job(a, "new")}
	if got := pruned(have, found, []string{a}); !slices.Equal(got, []string{a + "/rest/1.0/jobs/gone"}) {
		t.Errorf("pruned: %q", got)
	}
	if got := pruned(have, nil, []string{a}); got != nil {
		t.Errorf("pruned with nothing found: %q", got)
	}
	if got := pruned(have, found, nil); got != nil {
		t.Errorf("pruned with no CE answering: %q", got)
	}
}
