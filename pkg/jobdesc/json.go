package jobdesc

import (
	"encoding/json"
	"time"
)

// JSON writes durations as whole seconds (cpu_time_s, wall_time_s, …) so the
// schema is language-neutral.

type resourcesJSON struct {
	resourcesAlias
	CPUTime           int64 `json:"cpu_time_s,omitempty"`
	IndividualCPUTime int64 `json:"individual_cpu_time_s,omitempty"`
	WallTime          int64 `json:"wall_time_s,omitempty"`
}

type resourcesAlias Resources

// MarshalJSON implements json.Marshaler.
func (r Resources) MarshalJSON() ([]byte, error) {
	a := resourcesAlias(r)
	a.CPUTime, a.IndividualCPUTime, a.WallTime = 0, 0, 0
	return json.Marshal(resourcesJSON{resourcesAlias: a, CPUTime: secs(r.CPUTime),
		IndividualCPUTime: secs(r.IndividualCPUTime), WallTime: secs(r.WallTime)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Resources) UnmarshalJSON(b []byte) error {
	var x resourcesJSON
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*r = Resources(x.resourcesAlias)
	r.CPUTime, r.IndividualCPUTime, r.WallTime = dur(x.CPUTime), dur(x.IndividualCPUTime), dur(x.WallTime)
	return nil
}

type jobAlias Job

type jobJSON struct {
	jobAlias
	Lifetime int64 `json:"lifetime_s,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (j Job) MarshalJSON() ([]byte, error) {
	a := jobAlias(j)
	a.Lifetime = 0
	return json.Marshal(jobJSON{jobAlias: a, Lifetime: secs(j.Lifetime)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (j *Job) UnmarshalJSON(b []byte) error {
	var x jobJSON
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*j = Job(x.jobAlias)
	j.Lifetime = dur(x.Lifetime)
	return nil
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }
func dur(s int64) time.Duration  { return time.Duration(s) * time.Second }
