package arctools

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/spf13/pflag"
)

// selection is how the ARC job tools pick jobs: ids or names, -a, -i
// files, -c CEs, -s states (after the CEs answered).
type selection struct {
	ids      []string
	all      bool
	idFiles  []string
	clusters []string
	reject   []string
	states   []string
}

func (sel *selection) add(fs *pflag.FlagSet, withStatus bool) {
	fs.BoolVarP(&sel.all, "all", "a", false, "all jobs")
	fs.StringArrayVarP(&sel.idFiles, "jobids-from-file", "i", nil, "a file containing a list of jobIDs")
	fs.StringArrayVarP(&sel.clusters, "computing-element", "C", nil, "only select jobs that were submitted to this computing element")
	fs.StringArrayVarP(&sel.clusters, "cluster", "c", nil, "as -C (ARC 6)")
	fs.StringArrayVarP(&sel.reject, "rejectmanagement", "r", nil, "skip jobs that are on a computing element with a given URL")
	if withStatus {
		fs.StringArrayVarP(&sel.states, "status", "s", nil, "only jobs whose status is statusstr")
	}
}

// pick reads ARC's job list and selects jobs as ARC's tools do; ok false
// means the tool ends with the exit code returned (the message printed).
func (s *session) pick(ctx context.Context, sel *selection, joblistGiven bool) ([]arcjoblist.Job, int, bool) {
	ids := slices.Clone(sel.ids)
	for _, file := range sel.idFiles {
		more, err := readIDs(file)
		if err != nil {
			fmt.Fprintf(s.f.IO.ErrOut, "WARNING: Cannot read specified jobid file: %s\n", file)
		}
		ids = append(ids, more...)
	}
	all := sel.all || (joblistGiven || len(sel.states) > 0) && len(ids) == 0 && len(sel.clusters) == 0
	if len(ids) == 0 && len(sel.clusters) == 0 && !all {
		s.errorf("No jobs given")
		return nil, 1, false
	}
	if _, err := os.Stat(s.arcList); errors.Is(err, os.ErrNotExist) {
		s.errorf("Job list file (%s) doesn't exist", s.arcList)
		return nil, 1, false
	}
	list, err := arcjoblist.Read(ctx, s.arcList)
	if err != nil {
		s.errorf("Unable to read job information from file (%s)", s.arcList)
		return nil, 1, false
	}
	list = rejected(list, sel.reject)
	if all {
		return list, 0, true
	}
	return s.match(list, ids, sel.clusters), 0, true
}

// match keeps the jobs named by id or name or on one of the clusters, and
// warns of each identifier that named none.
func (s *session) match(list []arcjoblist.Job, ids, clusters []string) []arcjoblist.Job {
	var out []arcjoblist.Job
	found := map[string]bool{}
	for _, j := range list {
		hit := false
		for _, id := range ids {
			if id == j.ID || id == j.Name {
				hit, found[id] = true, true
			}
		}
		for _, c := range clusters {
			hit = hit || onCluster(j, c)
		}
		if hit {
			out = append(out, j)
		}
	}
	for _, id := range ids {
		if !found[id] {
			fmt.Fprintf(s.f.IO.Out, "Warning: Job not found in job list: %s\n", id)
		}
	}
	return out
}

// rejected drops the jobs of the CEs -r names.
func rejected(list []arcjoblist.Job, reject []string) []arcjoblist.Job {
	if len(reject) == 0 {
		return list
	}
	var out []arcjoblist.Job
	for _, j := range list {
		if !slices.ContainsFunc(reject, func(c string) bool { return onCluster(j, c) }) {
			out = append(out, j)
		}
	}
	return out
}

// onCluster says whether -c/-r c names the CE of j, as ARC's client
// compares it with the job's management URL (URL::StringMatches): an
// optional scheme, the host in any case, an optional port, then nothing or
// the URL's path ("localhost", "localhost:8444/arex", "https://localhost/arex"
// all name https://localhost:8444/arex).
func onCluster(j arcjoblist.Job, c string) bool {
	u, err := url.Parse(j.ServiceURL)
	c = strings.TrimSuffix(c, "/")
	if err != nil || u.Host == "" || c == "" {
		return false
	}
	if p := u.Scheme + "://"; len(c) >= len(p) && strings.EqualFold(c[:len(p)], p) {
		if c = c[len(p):]; c == "" {
			return false
		}
	}
	host := u.Hostname()
	if len(c) < len(host) || !strings.EqualFold(c[:len(host)], host) {
		return false
	}
	c = strings.TrimPrefix(c[len(host):], ":"+portOf(u))
	return c == "" || c == u.Path
}

// portOf is u's port, else its scheme's.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

// readIDs reads a job id file as arcsub -o writes it: one id a line.
func readIDs(path string) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}
