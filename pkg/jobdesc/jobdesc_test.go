package jobdesc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestJSONRoundTripAndSeconds(t *testing.T) {
	j := Job{Name: "n", Lifetime: 2 * time.Hour, Resources: Resources{CPUTime: 90 * time.Minute, WallTime: time.Hour, MemoryMB: 100},
		Executable: Executable{Path: "x", Args: []string{"a"}}}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"lifetime_s":7200`, `"cpu_time_s":5400`, `"wall_time_s":3600`, `"memory_mb":100`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s: %s", want, s)
		}
	}
	var back Job
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, j) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, back, j)
	}
}

func TestPrepareForARC(t *testing.T) {
	j := Job{Executable: Executable{Path: "run.sh"}, Stdin: "in.txt", Stdout: "out.txt", Join: true, LogDir: "log",
		Inputs: []InputFile{{Name: "data", Sources: []Location{{URL: "https://se/data"}}}}, Outputs: []OutputFile{{Name: "out.txt"}}}
	p := PrepareForARC(j)
	names := func(in []InputFile) (s []string) {
		for _, f := range in {
			s = append(s, f.Name)
		}
		return
	}
	if got := strings.Join(names(p.Inputs), ","); got != "data,run.sh,in.txt" {
		t.Errorf("inputs %s", got)
	}
	if !p.Inputs[1].IsExecutable || p.Inputs[2].IsExecutable {
		t.Errorf("executable flags %+v", p.Inputs)
	}
	var outs []string
	for _, o := range p.Outputs {
		outs = append(outs, o.Name)
	}
	if strings.Join(outs, ",") != "out.txt,log/" || p.Stderr != "out.txt" {
		t.Errorf("outputs %v stderr %q", outs, p.Stderr)
	}
	if len(j.Inputs) != 1 || len(j.Outputs) != 1 {
		t.Error("PrepareForARC modified its argument")
	}
	abs := PrepareForARC(Job{Executable: Executable{Path: "/bin/echo"}})
	if len(abs.Inputs) != 0 {
		t.Errorf("an absolute executable is on the CE, not uploaded: %+v", abs.Inputs)
	}
}
