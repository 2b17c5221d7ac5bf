package htcondor

import (
	"fmt"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
)

// PlanSubmit implements ce.Planner: the job ads one QMGMT transaction per
// cluster would set, and the files the spool step would send; nothing is
// sent. The schedd assigns the cluster id: the plan shows 1.
func (c *Client) PlanSubmit(jobs []jobdesc.Job, opts ce.SubmitOptions) ([]ce.Request, error) {
	gs, _, err := groups(jobs, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	ver := "as condor_submit 23.x writes it (the CE's version is not known yet: `cesub ping` first)"
	if v := c.scheddVersion(); v != "" {
		ver = "as the CE's condor_submit " + v + " writes it"
	}
	var out []ce.Request
	for _, g := range gs {
		jobs, err := c.jobAds(g, 1, c.now(), opts.ProxyFile)
		if err != nil {
			return nil, err
		}
		for k, j := range jobs {
			ad := j.ad
			out = append(out, ce.Request{Method: "QMGMT", URL: c.Endpoint(), Body: ad.Long(),
				Note: fmt.Sprintf("job ad of proc %d of cluster 1 (the schedd assigns the real cluster id; $(Cluster) is expanded with it); %s; "+
					"the submission also sets %s (its key) and %s", k, ver, attrSubmission, attrSubmissionIndex)})
			var files []string
			for _, f := range j.files {
				files = append(files, f.local+" -> "+f.dest)
			}
			if len(files) > 0 {
				out = append(out, ce.Request{Method: "SPOOL", URL: c.Endpoint(), Body: strings.Join(files, "\n") + "\n",
					Note: fmt.Sprintf("input files of proc %d (SPOOL_JOB_FILES_WITH_PERMS)", k)})
			}
		}
	}
	return out, nil
}

// PlanDelegate implements ce.Planner. HTCondor has no delegation request:
// an X.509 proxy travels with the jobs (SubmitOptions.ProxyFile: their
// x509userproxy, spooled with their inputs, as PlanSubmit shows).
func (c *Client) PlanDelegate(kind string) ([]ce.Request, error) {
	if kind != ce.DelegateX509 {
		return nil, errNoDelegation
	}
	return []ce.Request{{Note: "no delegation request: the proxy travels with the jobs as their x509userproxy, spooled with their inputs"}}, nil
}
