package arexhttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/cesub/cesub/internal/ownfile"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/dlfs"
	"github.com/cesub/cesub/pkg/jobdesc"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// EscapePath escapes each segment of a slash-separated path.
func EscapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// Upload is one client-side input file of a job.
type Upload struct {
	Job, Name, Path string
	Size            int64
}

// UploadConcurrency bounds how many jobs receive files at once.
const UploadConcurrency = 4

// UploadAll PUTs files to urlOf(job, name) and returns the first error per
// job. Jobs receive their files in parallel (at most UploadConcurrency at
// once), but each job one file at a time: A-REX records every upload under
// a per-job lock (job.ID.input_status) and a thread that finds the lock
// taken sleeps a whole second before trying again, up to ten times, so
// parallel uploads into one job are slower and can run into that limit.
// A job's remaining files are skipped after its first failure.
func (c *Client) UploadAll(ctx context.Context, work []Upload, urlOf func(job, name string) string, progress func(string, string, int64, int64)) map[string]error {
	var order []string
	byJob := map[string][]Upload{}
	for _, u := range work {
		if _, ok := byJob[u.Job]; !ok {
			order = append(order, u.Job)
		}
		byJob[u.Job] = append(byJob[u.Job], u)
	}
	errs := map[string]error{}
	var mu sync.Mutex
	sem := make(chan struct{}, UploadConcurrency)
	var wg sync.WaitGroup
	for _, job := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(files []Upload) {
			defer wg.Done()
			defer func() { <-sem }()
			for _, u := range files {
				if err := c.uploadOne(ctx, u, urlOf(u.Job, u.Name)); err != nil {
					mu.Lock()
					errs[u.Job] = err
					mu.Unlock()
					return
				}
				if progress != nil {
					progress(u.Job, u.Name, u.Size, u.Size)
				}
			}
		}(byJob[job])
	}
	wg.Wait()
	return errs
}

func (c *Client) uploadOne(ctx context.Context, u Upload, to string) error {
	op := "upload " + u.Name
	resp, err := c.stream(ctx, http.MethodPut, to, http.Header{"Content-Type": {"application/octet-stream"}}, func() (io.ReadCloser, int64, error) {
		f, st, err := ownfile.Open(u.Path) // never blocks: a FIFO put there since is refused
		if err != nil {
			return nil, 0, err
		}
		return f, st.Size(), nil
	})
	if err != nil {
		return Check(op, nil, err)
	}
	return readAnswer(to, resp).check(op, http.StatusOK, http.StatusCreated, http.StatusNoContent)
}

// Cat streams the file at u to w; a 404 becomes notFound (wrapping ErrNotFound).
func (c *Client) Cat(ctx context.Context, op, u string, w io.Writer, notFound func() error) error {
	resp, err := c.stream(ctx, http.MethodGet, u, http.Header{"Accept": {"*/*"}}, nil)
	if err != nil {
		return Check(op, nil, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound && notFound != nil {
		return notFound()
	}
	if resp.StatusCode != http.StatusOK {
		return readAnswer(u, resp).check(op, http.StatusOK)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// RemoteFile is a file of a session directory.
type RemoteFile struct {
	Path string // relative to the session root
	Size int64
}

// Lister lists one directory of a session (dir "" is the root): file names
// with sizes, and subdirectory names.
type Lister func(ctx context.Context, dir string) (files []RemoteFile, dirs []string, err error)

// MaxSessionEntries bounds the files and directories one session listing
// may name in all (a real job's outputs are far fewer): a broken or hostile
// CE cannot make cesub list, hold or download without end.
const MaxSessionEntries = 50_000

// Walk lists a session directory recursively, refusing unsafe names, more
// than 32 levels and more than MaxSessionEntries entries.
func Walk(ctx context.Context, list Lister, dir string, depth int) ([]RemoteFile, error) {
	budget := MaxSessionEntries
	return walk(ctx, list, dir, depth, &budget)
}

func walk(ctx context.Context, list Lister, dir string, depth int, budget *int) ([]RemoteFile, error) {
	if depth > 32 {
		return nil, fmt.Errorf("session directory nested deeper than 32 levels")
	}
	files, dirs, err := list(ctx, dir)
	if err != nil {
		return nil, err
	}
	if *budget -= len(files) + len(dirs); *budget < 0 {
		return nil, fmt.Errorf("list session: more than %d files and directories: not fetched (a job's own outputs are never this many; `cesub cat JOB FILE` reads single files)", MaxSessionEntries)
	}
	var out []RemoteFile
	for _, f := range files {
		if !dlfs.SafeSegment(f.Path) {
			return nil, fmt.Errorf("list session: unsafe file name %q", f.Path)
		}
		out = append(out, RemoteFile{Path: path.Join(dir, f.Path), Size: f.Size})
	}
	for _, d := range dirs {
		if !dlfs.SafeSegment(d) {
			return nil, fmt.Errorf("list session: unsafe directory name %q", d)
		}
		sub, err := walk(ctx, list, path.Join(dir, d), depth+1, budget)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// GetAll downloads a whole session directory into opts.Dir (default
// localID): a folder it creates, or one an interrupted get of job left (see
// dlfs). Files come in parallel; cesub's own partial file is resumed with a
// Range request. urlOf gives a file's URL from its session path.
func (c *Client) GetAll(ctx context.Context, list Lister, urlOf func(p string) string, localID, job string, opts ce.GetOptions) (*ce.GetResult, error) {
	files, err := Walk(ctx, list, "", 0)
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		dir = localID
	}
	d, err := dlfs.Open(dir, job)
	if err != nil {
		return nil, err
	}
	res, err := c.fetchAll(ctx, d, files, urlOf, opts)
	if err != nil {
		d.Close()
		return res, err
	}
	return res, d.Done()
}

func (c *Client) fetchAll(ctx context.Context, d *dlfs.Dir, files []RemoteFile, urlOf func(p string) string, opts ce.GetOptions) (*ce.GetResult, error) {
	conc := opts.Concurrency
	if conc < 1 {
		conc = 4
	}
	res := &ce.GetResult{Dir: d.Path()}
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func(f RemoteFile) {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := c.download(ctx, urlOf(f.Path), f, d)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if err == nil {
				res.Files++
				res.Bytes += n
				if opts.Progress != nil {
					opts.Progress(f.Path, n)
				}
			}
		}(f)
	}
	wg.Wait()
	return res, firstErr
}

// download fetches one file into d, skipping one already whole there; a
// file longer than the listing said is removed, an interrupted one kept.
func (c *Client) download(ctx context.Context, from string, f RemoteFile, d *dlfs.Dir) (int64, error) {
	if done, err := d.Complete(f.Path, f.Size); err != nil || done {
		return f.Size, err
	}
	out, err := d.Create(f.Path, f.Size, true)
	if err != nil {
		return 0, err
	}
	if err := c.receive(ctx, from, f, out); err != nil {
		if errors.Is(err, dlfs.ErrTooLong) {
			out.Abort()
			return 0, fmt.Errorf("%w: stopped, the partial file removed", err)
		}
		out.Keep()
		return 0, err
	}
	return f.Size, out.Commit(0o644)
}

// receive GETs the file into out, from where out ends when the CE
// answers a Range request.
func (c *Client) receive(ctx context.Context, from string, f RemoteFile, out *dlfs.File) error {
	hdr := http.Header{"Accept": {"*/*"}}
	have := out.Have()
	if have > 0 {
		hdr.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := c.stream(ctx, http.MethodGet, from, hdr, nil)
	if err != nil {
		return Check("get "+f.Path, nil, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := out.Restart(); err != nil {
			return fmt.Errorf("get %s: %w", f.Path, err)
		}
	case http.StatusPartialContent:
		if have == 0 || !rangeFrom(resp.Header.Get("Content-Range"), have) {
			return fmt.Errorf("get %s: the CE sent a part not asked for (Content-Range %q, asked from %d)", f.Path, resp.Header.Get("Content-Range"), have)
		}
	default:
		return readAnswer(from, resp).check("get "+f.Path, http.StatusOK)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		return fmt.Errorf("get %s: %w", f.Path, err)
	}
	return nil
}

// rangeFrom reports whether a Content-Range starts at offset.
func rangeFrom(cr string, offset int64) bool {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	start, _, found := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	return ok && found && err == nil && n == offset
}

// LocalInputs lists the files the client must upload for a job (inputs
// without a remote source); a missing file is an error before anything is
// submitted.
func LocalInputs(j jobdesc.Job, baseDir string) ([]Upload, error) {
	var out []Upload
	for _, f := range j.Inputs {
		p, ok := f.Local(baseDir)
		if !ok {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, &ce.InputError{Err: fmt.Errorf("input file %q: %w (nothing was submitted)", f.Name, err)}
		}
		if !fi.Mode().IsRegular() {
			// a FIFO would block the upload in open(), past --timeout and signals
			return nil, &ce.InputError{Err: fmt.Errorf("input file %q: %s is %s, not a regular file (nothing was submitted)", f.Name, p, ownfile.TypeName(fi.Mode()))}
		}
		out = append(out, Upload{Name: f.Name, Path: p, Size: fi.Size()})
	}
	return out, nil
}

// Prepare does for A-REX what arcsub adds implicitly (jobdesc.PrepareForARC),
// attaches the delegation, and finds each job's client-side inputs; a
// missing input fails before anything is sent.
func Prepare(jobs []jobdesc.Job, delegationID, baseDir string) ([]jobdesc.Job, [][]Upload, error) {
	prepared := make([]jobdesc.Job, len(jobs))
	uploads := make([][]Upload, len(jobs))
	for i, j := range jobs {
		prepared[i] = jobdesc.PrepareForARC(j)
		if delegationID != "" && prepared[i].DelegationID == "" {
			prepared[i].DelegationID = delegationID
		}
		u, err := LocalInputs(prepared[i], baseDir)
		if err != nil {
			return nil, nil, err
		}
		uploads[i] = u
	}
	return prepared, uploads, nil
}

// TLSSummary is a connection's TLS version and the server certificate's subject.
func TLSSummary(st *tls.ConnectionState) string {
	if st == nil {
		return ""
	}
	s := tls.VersionName(st.Version)
	if len(st.PeerCertificates) > 0 {
		s += ", server certificate " + x509proxy.GridName(st.PeerCertificates[0].RawSubject)
	}
	return s
}
