package xrsl

import "github.com/cesub/cesub/pkg/jobdesc"

func toJobs(v any) []jobdesc.Job { return v.([]jobdesc.Job) }
