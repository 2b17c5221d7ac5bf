package arctools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/jobstore"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/spf13/pflag"
)

// manageOptions are the options arcget, arckill and arcclean share.
type manageOptions struct {
	common
	sel    selection
	keep   bool   // -k: arcget and arckill leave the job on the CE
	force  bool   // -f: arcclean drops jobs the CE has no information on
	dir    string // -D: arcget's download folder
	byName bool   // -J: arcget names the folders by job name
}

// pickStated selects jobs and asks their CEs for their states, keeping
// those -s asks for; ok false means the tool ends with the code returned.
func (s *session) pickStated(ctx context.Context, args []string, o *manageOptions) ([]jobState, int, bool) {
	o.sel.ids = args
	list, code, ok := s.pick(ctx, &o.sel, o.joblist != "")
	if !ok {
		return nil, code, false
	}
	if err := s.open(ctx); err != nil {
		s.errorf("%v", err)
		return nil, 1, false
	}
	var out []jobState
	for _, st := range s.query(ctx, list, false) {
		if stateMatches(o.sel.states, st.general, st.specific) {
			out = append(out, st)
		}
	}
	return out, 0, true
}

// act runs a bulk action on jobs of one or more CEs and returns the ids
// (ARC's) it succeeded on.
func (s *session) act(ctx context.Context, action string, list []jobState) map[string]bool {
	recs := make([]jobstore.Job, len(list))
	arcs := make([]arcjoblist.Job, len(list))
	for i, st := range list {
		recs[i], arcs[i] = record(st.arc), st.arc
	}
	results, _ := s.runner().ForEachCE(ctx, recs, 3, func(cctx context.Context, b ce.Backend, g []jobstore.Job) ([]ce.Result, error) {
		ids := make([]string, len(g))
		for i, j := range g {
			ids[i] = j.LocalID
		}
		switch action {
		case "kill":
			return b.Kill(cctx, ids)
		case "resume":
			return b.Restart(cctx, ids)
		}
		return b.Clean(cctx, ids)
	})
	got := byLocal(results, arcs)
	done := map[string]bool{}
	for _, a := range arcs {
		if r, ok := got[a.IDFromEndpoint]; ok && r.Err == nil {
			done[a.ID] = true
		} else if ok {
			s.f.Infof("%s: %s: %v", a.ID, action, r.Err)
		}
	}
	return done
}

// forget drops jobs from ARC's job list, and from cesub's own, where
// cesub's arcsub recorded them too.
func (s *session) forget(ctx context.Context, ids []string) bool {
	if s.store != nil {
		_ = s.store.Remove(ctx, ids...)
	}
	if err := arcjoblist.Remove(ctx, s.arcList, ids...); err != nil {
		s.f.Infof("%v", err)
		return false
	}
	return true
}

// managed parses a job tool's command line (own adds the tool's own
// flags) and selects its jobs with their states; ok false means the tool
// ends with the code returned. The caller closes the session.
func (s *session) managed(ctx context.Context, args []string, o *manageOptions, own func(*pflag.FlagSet)) ([]jobState, int, bool) {
	fs := newFlags("[job ...]")
	o.sel.add(fs, true)
	if own != nil {
		own(fs)
	}
	o.addCommon(fs)
	if code, ok := s.parse(fs, &o.common, args); !ok {
		return nil, code, false
	}
	return s.pickStated(ctx, fs.Args(), o)
}

// noJobs says so, as the ARC tools do, when nothing was selected.
func (s *session) noJobs(list []jobState) bool {
	if len(list) == 0 {
		fmt.Fprintln(s.f.IO.Out, "No jobs")
		return true
	}
	return false
}

func runKill(ctx context.Context, s *session, args []string) int {
	var o manageOptions
	list, code, ok := s.managed(ctx, args, &o, func(fs *pflag.FlagSet) {
		fs.BoolVarP(&o.keep, "keep", "k", false, "keep the files on the server (do not clean)")
	})
	if !ok {
		return code
	}
	defer s.close()
	if s.noJobs(list) {
		return 1
	}
	killed := s.act(ctx, "kill", list)
	if o.keep {
		fmt.Fprintf(s.f.IO.Out, "Jobs processed: %d, successfully killed: %d\n", len(list), len(killed))
		return exitIf(len(killed) < len(list))
	}
	cleaned := s.act(ctx, "clean", onlyIn(list, killed))
	s.forget(ctx, keys(cleaned))
	fmt.Fprintf(s.f.IO.Out, "Jobs processed: %d, successfully killed: %d, successfully cleaned: %d\n", len(list), len(killed), len(cleaned))
	return exitIf(len(killed) < len(list))
}

func runResume(ctx context.Context, s *session, args []string) int {
	var o manageOptions
	list, code, ok := s.managed(ctx, args, &o, nil)
	if !ok {
		return code
	}
	defer s.close()
	if s.noJobs(list) {
		return 1
	}
	act := actionable(list) // the others are passed over, as ARC does: no failure
	resumed := s.act(ctx, "resume", act)
	fmt.Fprintf(s.f.IO.Out, "Jobs processed: %d, resumed: %d\n", len(list), len(resumed))
	return exitIf(len(resumed) < len(act))
}

func runClean(ctx context.Context, s *session, args []string) int {
	var o manageOptions
	list, code, ok := s.managed(ctx, args, &o, func(fs *pflag.FlagSet) {
		fs.BoolVarP(&o.force, "force", "f", false, "removes the job from the local list of jobs even if the job is not found in the infosys")
	})
	if !ok {
		return code
	}
	defer s.close()
	var ended, unknown []jobState
	for _, st := range list {
		switch {
		case st.job == nil:
			unknown = append(unknown, st)
		case finished(st.general):
			ended = append(ended, st)
		}
	}
	cleaned := s.act(ctx, "clean", ended)
	gone := keys(cleaned)
	if o.force || stateMatches(o.sel.states, "Undefined", "") && len(o.sel.states) > 0 {
		for _, st := range unknown {
			gone = append(gone, st.arc.ID)
		}
	}
	s.forget(ctx, gone)
	if len(list) == 0 {
		fmt.Fprintln(s.f.IO.Out, "No jobs")
		return 1
	}
	fmt.Fprintf(s.f.IO.Out, "Jobs processed: %d, deleted: %d\n", len(list), len(gone))
	return exitIf(len(cleaned) < len(ended))
}

func runGet(ctx context.Context, s *session, args []string) int {
	var o manageOptions
	list, code, ok := s.managed(ctx, args, &o, func(fs *pflag.FlagSet) {
		fs.BoolVarP(&o.keep, "keep", "k", false, "keep the files on the server (do not clean)")
		fs.StringVarP(&o.dir, "dir", "D", "", "specify the path of the download directory")
		fs.BoolVarP(&o.byName, "usejobname", "J", false, "use the jobname instead of the short ID as the job directory name")
	})
	if !ok {
		return code
	}
	defer s.close()
	if s.noJobs(list) {
		return 1
	}
	got, failed := map[string]bool{}, false
	for _, st := range list {
		dir, err := s.fetch(ctx, st, o.dir, o.byName)
		switch {
		case errors.Is(err, errNotEnded):
			s.f.Infof("%s: %v", st.arc.ID, err) // left for a later arcget, as ARC does
		case err != nil:
			s.errorf("Failed retrieving job: %s: %v", st.arc.ID, err)
			failed = true
		default:
			fmt.Fprintf(s.f.IO.Out, "Results stored at: %s\n", shown(dir))
			got[st.arc.ID] = true
		}
	}
	if o.keep {
		fmt.Fprintf(s.f.IO.Out, "Jobs processed: %d, successfully retrieved: %d\n", len(list), len(got))
		return exitIf(failed)
	}
	cleaned := s.act(ctx, "clean", onlyIn(list, got))
	s.forget(ctx, keys(cleaned))
	if len(cleaned) < len(got) {
		fmt.Fprintln(s.f.IO.Out, "Warning: Some jobs were not removed from server")
		fmt.Fprintln(s.f.IO.Out, "         Use arcclean to remove retrieved jobs from job list")
	}
	fmt.Fprintf(s.f.IO.Out, "Jobs processed: %d, successfully retrieved: %d, successfully cleaned: %d\n", len(list), len(got), len(cleaned))
	return exitIf(failed)
}

// errNotEnded is a job arcget leaves: it has not ended yet.
var errNotEnded = errors.New("the job has not finished yet")

// fetch downloads one ended job into DIR/<id on the CE>, as arcget does,
// and returns that folder.
func (s *session) fetch(ctx context.Context, st jobState, dir string, byName bool) (string, error) {
	if st.job == nil || !finished(st.general) || st.general == "Deleted" {
		return "", errNotEnded
	}
	rec := record(st.arc)
	if err := ce.Backends.CheckLocalID(ce.Flavour(rec.Flavour), rec.LocalID); err != nil {
		return "", err
	}
	b, _, err := s.backendOf(ctx, rec.CE, rec.Flavour)
	if err != nil {
		return "", err
	}
	target := filepath.Join(dir, rec.LocalID)
	if byName && st.arc.Name != "" && st.arc.Name == filepath.Base(st.arc.Name) && !strings.HasPrefix(st.arc.Name, ".") {
		target = filepath.Join(dir, st.arc.Name)
	}
	if _, err := os.Stat(target); err == nil {
		return "", errors.New("the download directory " + target + " already exists")
	}
	if _, err := b.Get(ctx, rec.LocalID, ce.GetOptions{Dir: target}); err != nil {
		return "", err
	}
	return target, nil
}

// shown is a download folder as arcget prints it: relative to the
// working directory when it is under it.
func shown(dir string) string {
	abs, err := filepath.Abs(dir)
	cwd, cerr := os.Getwd()
	if err != nil || cerr != nil {
		return dir
	}
	if rel, ok := strings.CutPrefix(abs, strings.TrimSuffix(cwd, "/")+"/"); ok {
		return rel
	}
	return abs
}

// onlyIn keeps the jobs whose ids are in ids.
func onlyIn(list []jobState, ids map[string]bool) []jobState {
	var out []jobState
	for _, st := range list {
		if ids[st.arc.ID] {
			out = append(out, st)
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// exitIf is 1 when failed, else 0.
func exitIf(failed bool) int {
	if failed {
		return 1
	}
	return 0
}
