package arcrest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/cesub/cesub/pkg/ce"
)

func urlPathEscape(s string) string { return url.PathEscape(s) }

// Cat implements ce.Backend: streams one session file.
func (c *Client) Cat(ctx context.Context, id, p string, w io.Writer) error {
	base, err := c.base(ctx)
	if err != nil {
		return err
	}
	resp, err := c.rc.R().SetContext(ctx).SetDoNotParseResponse(true).SetHeader("Accept", "*/*").
		Get(base + "/jobs/" + id + "/session/" + escapePath(strings.TrimPrefix(p, "/")))
	if err != nil {
		return fmt.Errorf("cat %s: %w", p, err)
	}
	body := resp.RawBody()
	defer body.Close()
	if resp.StatusCode() == http.StatusNotFound {
		return fmt.Errorf("cat: %s has no file %q (is the job finished, and was the file kept as an output?): %w", c.JobID(id), p, ErrNotFound)
	}
	if resp.StatusCode() != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(body, 512))
		resp.SetBody(b)
		return check("cat "+p, resp, nil, http.StatusOK)
	}
	if _, err := io.Copy(w, body); err != nil {
		return fmt.Errorf("cat %s: %w", p, err)
	}
	return nil
}

// JobLog implements ce.LogReader: the grid manager's log of the job
// (diagnose/errors: staging, LRMS submission and exit, as arccat -l shows).
func (c *Client) JobLog(ctx context.Context, id string, w io.Writer) error {
	base, err := c.base(ctx)
	if err != nil {
		return err
	}
	resp, err := c.rc.R().SetContext(ctx).SetHeader("Accept", "text/plain").Get(base + "/jobs/" + id + "/diagnose/errors")
	if err := check("job log", resp, err, http.StatusOK); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("job log: %s has no log (yet): %w", c.JobID(id), ErrNotFound)
		}
		return err
	}
	_, err = w.Write(resp.Body())
	return err
}

// listing is A-REX's XML directory listing (the JSON form loses sizes).
type listing struct {
	Files []struct {
		Name string `xml:",chardata"`
		Size int64  `xml:"size,attr"`
	} `xml:"file"`
	Dirs []string `xml:"dir"`
}

type remoteFile struct {
	path string // relative to the session root
	size int64
}

// walk lists a session directory recursively.
func (c *Client) walk(ctx context.Context, base, id, dir string, depth int) ([]remoteFile, error) {
	if depth > 32 {
		return nil, fmt.Errorf("session directory nested deeper than 32 levels")
	}
	u := base + "/jobs/" + id + "/session/"
	if dir != "" {
		u += escapePath(dir) + "/"
	}
	resp, err := c.rc.R().SetContext(ctx).SetHeader("Accept", "application/xml").Get(u)
	if err := check("list session", resp, err, http.StatusOK); err != nil {
		return nil, err
	}
	var l listing
	if body := strings.TrimSpace(string(resp.Body())); body != "" {
		if err := xml.Unmarshal(resp.Body(), &l); err != nil {
			return nil, fmt.Errorf("list session %s: %w", dir, err)
		}
	}
	var out []remoteFile
	for _, f := range l.Files {
		name := strings.TrimSpace(f.Name)
		if !safeName(name) {
			return nil, fmt.Errorf("list session: unsafe file name %q", name)
		}
		out = append(out, remoteFile{path: path.Join(dir, name), size: f.Size})
	}
	for _, d := range l.Dirs {
		d = strings.TrimSpace(d)
		if !safeName(d) {
			return nil, fmt.Errorf("list session: unsafe directory name %q", d)
		}
		sub, err := c.walk(ctx, base, id, path.Join(dir, d), depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// safeName refuses names that would escape the download directory.
func safeName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\\\x00")
}

// Get implements ce.Backend: the whole session directory, files in
// parallel, resuming a partial local file with a Range request.
func (c *Client) Get(ctx context.Context, id string, opts ce.GetOptions) (*ce.GetResult, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	files, err := c.walk(ctx, base, id, "", 0)
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		dir = id
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	conc := opts.Concurrency
	if conc < 1 {
		conc = 4
	}
	res := &ce.GetResult{Dir: dir}
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func(f remoteFile) {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := c.download(ctx, base, id, f, filepath.Join(dir, filepath.FromSlash(f.path)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if err == nil {
				res.Files++
				res.Bytes += n
				if opts.Progress != nil {
					opts.Progress(f.path, n)
				}
			}
		}(f)
	}
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	return res, nil
}

func (c *Client) download(ctx context.Context, base, id string, f remoteFile, dst string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, fmt.Errorf("get %s: %w", f.path, err)
	}
	var have int64
	if fi, err := os.Stat(dst); err == nil {
		have = fi.Size()
		if have == f.size {
			return f.size, nil // already complete
		}
		if have > f.size {
			have = 0 // the remote file changed; start again
		}
	}
	req := c.rc.R().SetContext(ctx).SetDoNotParseResponse(true).SetHeader("Accept", "*/*")
	if have > 0 {
		req.SetHeader("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := req.Get(base + "/jobs/" + id + "/session/" + escapePath(f.path))
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", f.path, err)
	}
	body := resp.RawBody()
	defer body.Close()
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	switch resp.StatusCode() {
	case http.StatusOK:
		have = 0
	case http.StatusPartialContent:
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	default:
		b, _ := io.ReadAll(io.LimitReader(body, 512))
		resp.SetBody(b)
		return 0, check("get "+f.path, resp, nil, http.StatusOK)
	}
	out, err := os.OpenFile(dst, flags, 0o644)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", f.path, err)
	}
	n, err := io.Copy(out, body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("get %s: writing %s: %w", f.path, dst, err)
	}
	if have+n != f.size && f.size > 0 {
		return 0, fmt.Errorf("get %s: got %d of %d bytes", f.path, have+n, f.size)
	}
	return have + n, nil
}

var _ = errors.New
