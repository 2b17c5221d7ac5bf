package arctools

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cesub/cesub/internal/arcjoblist"
	"github.com/cesub/cesub/internal/broker"
	"github.com/cesub/cesub/internal/jobs"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/jobdesc/format"
)

// subOptions are arcsub's options.
type subOptions struct {
	common
	ces      []string
	endpoint string // -T
	info     string // -Q (accepted; brokering asks each CE's own interface)
	inline   []string
	files    []string
	idFile   string
	dryRun   bool
	dump     bool
	broker   string
	direct   bool
	delegate string // -n, -X, -K: none, x509, token (default: cesub's auto)
}

func runSub(ctx context.Context, s *session, args []string) int {
	var o subOptions
	fs := newFlags("[filename ...]")
	fs.StringArrayVarP(&o.ces, "computing-element", "C", nil, "the computing element to submit to")
	fs.StringArrayVarP(&o.ces, "cluster", "c", nil, "the computing element to submit to (as -C)")
	fs.StringVarP(&o.endpoint, "submission-endpoint-type", "T", "", "submission interface: arcrest or emies")
	fs.StringVarP(&o.info, "info-endpoint-type", "Q", "", "information interface (cesub asks the CE's own)")
	fs.StringArrayVarP(&o.inline, "jobdescrstring", "e", nil, "jobdescription string describing the job to be submitted")
	fs.StringArrayVarP(&o.files, "jobdescrfile", "f", nil, "jobdescription file describing the job to be submitted")
	fs.StringVarP(&o.idFile, "jobids-to-file", "o", "", "the IDs of the submitted jobs will be appended to this file")
	fs.BoolVarP(&o.dryRun, "dryrun", "D", false, "submit jobs as dry run (no submission to batch system)")
	fs.BoolVarP(&o.dump, "dumpdescription", "x", false, "do not submit - dump job description in the language accepted by the target")
	fs.StringVarP(&o.broker, "broker", "b", "", "selected broker: Random (default) or FastestQueue")
	fs.BoolVar(&o.direct, "direct", false, "submit directly - no resource discovery or matchmaking")
	noDeleg := fs.BoolP("no-delegation", "n", false, "do not delegate credentials")
	x509Deleg := fs.BoolP("x509-delegation", "X", false, "delegate the X.509 proxy")
	tokenDeleg := fs.BoolP("token-delegation", "K", false, "delegate the token (ARC REST 1.1)")
	o.addCommon(fs)
	if code, ok := s.parse(fs, &o.common, args); !ok {
		return code
	}
	o.files = append(o.files, fs.Args()...)
	o.delegate = delegationAsked(*noDeleg, *x509Deleg, *tokenDeleg)
	if len(o.files) == 0 && len(o.inline) == 0 {
		s.errorf("No job description input specified")
		return 1
	}
	batches, code, ok := s.readDescriptions(o)
	if !ok {
		return code
	}
	addrs, code, ok := s.targets(o)
	if !ok {
		return code
	}
	b, brokered := (*broker.Broker)(nil), !o.direct && !o.dump && (len(addrs) > 1 || o.broker != "")
	if brokered {
		if b, ok = s.broker(o.broker); !ok {
			return 1 // ARC's arcsub: 2 from the submission, 1 from the tool
		}
	}
	if err := s.open(ctx); err != nil {
		s.errorf("%v", err)
		return 1
	}
	defer s.close()
	switch {
	case o.dump:
		return s.dump(addrs[0], batches)
	case brokered:
		return s.submitBrokered(ctx, b, addrs, batches, o)
	}
	return s.submit(ctx, addrs[0], batches, o)
}

// broker is -b NAME (ARC's NAME:ARGUMENTS form taken; Random by default).
func (s *session) broker(name string) (*broker.Broker, bool) {
	name, _, _ = strings.Cut(name, ":")
	b, err := broker.New(name, nil)
	if err != nil {
		s.errorf("Unable to load broker %s", name)
		s.f.Infof("%v", err)
		return nil, false
	}
	return b, true
}

// delegationAsked is cesub's --delegate for -n, -X, -K (the last wins).
func delegationAsked(none, x509, token bool) string {
	switch {
	case token:
		return "token"
	case x509:
		return "x509"
	case none:
		return "none"
	}
	return "auto"
}

// readDescriptions reads -f files and -e strings as arcsub does (one
// batch each); an unreadable or invalid one ends arcsub.
func (s *session) readDescriptions(o subOptions) ([]jobs.Batch, int, bool) {
	var out []jobs.Batch
	for _, file := range o.files {
		src, err := os.ReadFile(file)
		if err != nil {
			s.errorf("Can not open job description file: %s", file)
			return nil, 1, false
		}
		js, err := format.Read(format.Detect(file, src), file, src, format.Options{CheckFiles: true})
		if err != nil {
			s.errorf("Invalid JobDescription:\n%v", err)
			return nil, 1, false
		}
		out = append(out, jobs.Batch{Jobs: dryRun(js, o.dryRun), Dir: filepath.Dir(file)})
	}
	for i, text := range o.inline {
		js, err := format.Read(format.Detect("", []byte(text)), fmt.Sprintf("-e #%d", i+1), []byte(text), format.Options{CheckFiles: true})
		if err != nil {
			s.errorf("Invalid JobDescription:\n%v", err)
			return nil, 1, false
		}
		out = append(out, jobs.Batch{Jobs: dryRun(js, o.dryRun), Dir: "."})
	}
	return out, 0, true
}

// dryRun marks the jobs for arcsub -D: the CE accepts them and runs
// nothing (xRSL dryrun); they are then encoded from the job model.
func dryRun(js []jobdesc.Job, on bool) []jobdesc.Job {
	if on {
		for i := range js {
			js[i].DryRun = true
			js[i].Origin = nil
		}
	}
	return js
}

// targets are the CEs of -C, with the flavour -T names.
func (s *session) targets(o subOptions) ([]ce.Address, int, bool) {
	if len(o.ces) == 0 {
		s.errorf("No computing element given (-C): cesub does not read the registry or the client.conf services")
		return nil, 1, false
	}
	flavour := ce.Flavour("")
	switch strings.ToLower(o.endpoint) {
	case "":
	case "arcrest", "rest", "org.nordugrid.arcrest":
		flavour = ce.ARC
	case "emies", "org.ogf.glue.emies.activitycreation":
		flavour = ce.EMIES
	default:
		s.errorf("Unsupported submission endpoint type: %s", o.endpoint)
		return nil, 1, false
	}
	var out []ce.Address
	for _, c := range o.ces {
		addr, err := ce.ParseAddress(c, flavour)
		if err != nil {
			s.errorf("%v", err)
			return nil, 1, false
		}
		out = append(out, addr)
	}
	return out, 0, true
}

// dump prints each job as it would be sent (-x), sending nothing.
func (s *session) dump(addr ce.Address, batches []jobs.Batch) int {
	b, err := s.backend(context.Background(), addr)
	if err != nil {
		s.errorf("%v", err)
		return 1
	}
	for _, batch := range batches {
		reqs, err := b.PlanSubmit(batch.Jobs, ce.SubmitOptions{BaseDir: batch.Dir})
		if err != nil {
			s.errorf("Unable to prepare job description according to needs of the target resource: %v", err)
			return 1
		}
		for _, r := range reqs {
			if r.Method == "POST" && r.Body != "" {
				fmt.Fprintf(s.f.IO.Out, "Job description to be sent to %s:\n%s\n", addr.Host, r.Body)
			}
		}
	}
	return 0
}

// submit sends the jobs, prints each id as arcsub does, and records the
// jobs on ARC's job list (and -o).
func (s *session) submit(ctx context.Context, addr ce.Address, batches []jobs.Batch, o subOptions) int {
	sub, err := s.submitter(ctx, addr, o.delegate)
	if err != nil {
		s.errorf("%v", err)
		return 1
	}
	s.store = nil // the submitter closes it
	defer sub.Close()
	var accepted []ce.Job
	sub.Accepted = func(j ce.Job) {
		fmt.Fprintf(s.f.IO.Out, "Job submitted with jobid: %s\n", j.ID)
		accepted = append(accepted, j)
	}
	sub.Failed = func(err error) { s.errorf("%v", err) }
	res, err := sub.Submit(ctx, batches)
	if err != nil {
		s.errorf("%v", err)
	}
	s.keep(ctx, accepted, batches, sub.Delegation.Mode != "", o.idFile)
	return s.summary(batches, len(accepted), err != nil || res.Failed > 0)
}

// summary prints arcsub's summary (several jobs) and makes its exit code.
func (s *session) summary(batches []jobs.Batch, accepted int, failed bool) int {
	total := 0
	for _, b := range batches {
		total += len(b.Jobs)
	}
	if total > 1 {
		fmt.Fprintf(s.f.IO.Out, "\nJob submission summary:\n-----------------------\n%d of %d jobs were submitted\n", accepted, total)
	}
	if accepted < total || failed {
		fmt.Fprintln(s.f.IO.ErrOut, "ERROR: One or multiple job descriptions was not submitted.")
		return 1
	}
	return 0
}

// submitter is the job lifecycle's submission to addr, delegating as
// cesub does for the credential in use.
func (s *session) submitter(ctx context.Context, addr ce.Address, delegate string) (*jobs.Submitter, error) {
	src := s.tokens.For(addr)
	info, _ := ce.Backends.Info(addr.Flavour)
	d, err := jobs.ChooseDelegation(delegate, src, info)
	if err != nil {
		return nil, err
	}
	proxyFile := ""
	if d.ProxyWithJobs {
		if proxyFile, err = filepath.Abs(s.f.ProxyPath()); err != nil {
			return nil, err
		}
	}
	b, err := s.backend(ctx, addr)
	if err != nil {
		return nil, err
	}
	sub := &jobs.Submitter{Addr: addr, Backend: b, Token: src, Store: s.store, Delegations: s.f.Delegations(s.store),
		Delegation: d, ProxyFile: proxyFile, BatchSize: 100, Warnf: s.f.Warnf,
		NotRecorded: func(id string) { s.errorf("submitted but not recorded: %s", id) }}
	sub.Warm(ctx)
	return sub, nil
}

// keep writes the submitted jobs to ARC's job list and to -o.
func (s *session) keep(ctx context.Context, accepted []ce.Job, batches []jobs.Batch, delegated bool, idFile string) {
	if len(accepted) == 0 {
		return
	}
	recs := make([]arcjoblist.Job, len(accepted))
	for i, j := range accepted {
		recs[i] = arcRecord(j, batches)
		if recs[i].Submitted.IsZero() {
			recs[i].Submitted = s.f.Now()
		}
	}
	if err := arcjoblist.Add(ctx, s.arcList, recs...); err != nil {
		fmt.Fprintf(s.f.IO.ErrOut, "WARNING: Failed to write job information to database (%s)\nWARNING: To recover missing jobs, run arcsync\n", s.arcList)
		s.f.Infof("%v", err)
	}
	if idFile != "" {
		if err := appendIDs(idFile, accepted); err != nil {
			fmt.Fprintf(s.f.IO.ErrOut, "WARNING: Cannot write job IDs to file (%s)\n", idFile)
		}
	}
}

// arcRecord is a submitted job as ARC's job list holds it.
func arcRecord(j ce.Job, batches []jobs.Batch) arcjoblist.Job {
	rec := arcjoblist.Job{ID: j.ID, IDFromEndpoint: j.LocalID, Name: j.Name, Interface: interfaceOf(j.Flavour),
		ServiceURL: j.CE, StdOut: j.Stdout, StdErr: j.Stderr}
	if j.Submitted != nil {
		rec.Submitted = *j.Submitted
	}
	for _, b := range batches {
		for _, d := range b.Jobs {
			if d.Name == j.Name && (rec.StdOut == "" || rec.StdOut == d.Stdout) {
				rec.StdOut, rec.StdErr = d.Stdout, d.Stderr
				if d.Origin != nil {
					rec.Description = string(d.Origin.Text)
				}
			}
		}
	}
	return rec
}

// appendIDs appends the job ids to file, one a line (arcsub -o).
func appendIDs(file string, accepted []ce.Job) error {
	fh, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	for _, j := range accepted {
		fmt.Fprintln(fh, j.ID)
	}
	return fh.Close()
}
