package arcrest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// Cat implements ce.Backend: streams one session file.
func (c *Client) Cat(ctx context.Context, id, p string, w io.Writer) error {
	base, err := c.base(ctx)
	if err != nil {
		return err
	}
	return c.h.Cat(ctx, "cat "+p, base+"/jobs/"+id+"/session/"+escapePath(strings.TrimPrefix(p, "/")), w, func() error {
		return fmt.Errorf("cat: %s has no file %q (is the job finished, and was the file kept as an output?): %w", c.JobID(id), p, ErrNotFound)
	})
}

// JobLog implements ce.LogReader: the grid manager's log of the job
// (diagnose/errors: staging, LRMS submission and exit, as arccat -l shows).
func (c *Client) JobLog(ctx context.Context, id string, w io.Writer) error {
	base, err := c.base(ctx)
	if err != nil {
		return err
	}
	err = c.h.CopyText(ctx, base+"/jobs/"+id+"/diagnose/errors", "text/plain", "job log", w)
	if isNotFound(err) {
		return fmt.Errorf("job log: %s has no log (yet): %w", c.JobID(id), ErrNotFound)
	}
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

// lister lists one directory of a job's session.
func (c *Client) lister(base, id string) arexhttp.Lister {
	return func(ctx context.Context, dir string) ([]arexhttp.RemoteFile, []string, error) {
		u := base + "/jobs/" + id + "/session/"
		if dir != "" {
			u += escapePath(dir) + "/"
		}
		var l listing
		_, err := c.h.Decode(c.rc.R().SetContext(ctx).SetHeader("Accept", "application/xml"), http.MethodGet, u, "list session", func(r io.Reader) error {
			l = listing{}
			if err := c.h.Msg("session listing", arexhttp.ListingLimits).DecodeXML(r, &l); err != nil && err != io.EOF {
				return fmt.Errorf("list session %s: %w", dir, err)
			}
			return nil
		}, http.StatusOK)
		if err != nil {
			return nil, nil, err
		}
		files := make([]arexhttp.RemoteFile, 0, len(l.Files))
		for _, f := range l.Files {
			files = append(files, arexhttp.RemoteFile{Path: strings.TrimSpace(f.Name), Size: f.Size})
		}
		dirs := make([]string, 0, len(l.Dirs))
		for _, d := range l.Dirs {
			dirs = append(dirs, strings.TrimSpace(d))
		}
		return files, dirs, nil
	}
}

// Get implements ce.Backend: the whole session directory, files in
// parallel, resuming a partial local file with a Range request.
func (c *Client) Get(ctx context.Context, id string, opts ce.GetOptions) (*ce.GetResult, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	return c.h.GetAll(ctx, c.lister(base, id), func(p string) string { return base + "/jobs/" + id + "/session/" + escapePath(p) }, id, c.JobID(id), opts)
}
