package emies

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// Cat implements ce.Backend: streams one file of the session directory.
func (c *Client) Cat(ctx context.Context, id, p string, w io.Writer) error {
	return c.h.Cat(ctx, "cat "+p, c.sessionURL(id, p), w, func() error {
		return fmt.Errorf("cat: %s has no file %q (is the job finished, and was the file kept as an output?): %w", c.JobID(id), p, arexhttp.ErrNotFound)
	})
}

// JobLog implements ce.LogReader: the grid manager's log of the job.
func (c *Client) JobLog(ctx context.Context, id string, w io.Writer) error {
	err := c.h.CopyText(ctx, c.logURL(id, "errors"), "*/*", "job errors", w)
	if arexhttp.IsNotFound(err) {
		return fmt.Errorf("job log: %s has no log (yet): %w", c.JobID(id), arexhttp.ErrNotFound)
	}
	return err
}

// listingLine is one entry of A-REX's HTML directory listing:
// <LI><I>file</I> <A HREF="…">name</A> - 12 bytes, or <I>dir</I>.
// Compiled on first use, not in every cesub run's start.
var listingLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)<LI><I>(file|dir)</I>\s*<A HREF="[^"]*">([^<]*)</A>(?:\s*-\s*(\d+)\s*bytes)?`)
})

// parseListing reads A-REX's HTML session directory listing (read whole
// under arexhttp.ListingLimits' bytes, at most MaxSessionEntries entries).
func parseListing(body string) ([]arexhttp.RemoteFile, []string, error) {
	if !strings.Contains(strings.ToUpper(body), "<UL>") {
		return nil, nil, fmt.Errorf("not an A-REX directory listing")
	}
	var files []arexhttp.RemoteFile
	var dirs []string
	found := listingLine().FindAllStringSubmatch(body, arexhttp.MaxSessionEntries+1)
	if len(found) > arexhttp.MaxSessionEntries {
		return nil, nil, fmt.Errorf("the session listing has more than %d entries in one directory (limit): refused", arexhttp.MaxSessionEntries)
	}
	for _, m := range found {
		name := html.UnescapeString(m[2])
		if strings.EqualFold(m[1], "dir") {
			dirs = append(dirs, name)
			continue
		}
		size, _ := strconv.ParseInt(m[3], 10, 64)
		files = append(files, arexhttp.RemoteFile{Path: name, Size: size})
	}
	return files, dirs, nil
}

// lister lists one directory of a job's session.
func (c *Client) lister(id string) arexhttp.Lister {
	return func(ctx context.Context, dir string) ([]arexhttp.RemoteFile, []string, error) {
		u := c.endpoint + "/" + id + "/"
		if dir != "" {
			u += arexhttp.EscapePath(dir) + "/"
		}
		_, body, err := c.h.Get(c.h.RC.R().SetContext(ctx).SetHeader("Accept", "text/html"), u, "list session", http.StatusOK)
		if err != nil {
			if arexhttp.IsNotFound(err) {
				return nil, nil, fmt.Errorf("list session: %s has no session directory (cleaned?): %w", c.JobID(id), arexhttp.ErrNotFound)
			}
			return nil, nil, err
		}
		defer body.Close()
		page, err := c.h.Msg("session listing", arexhttp.ListingLimits).ReadAll(body)
		if err != nil {
			return nil, nil, fmt.Errorf("list session %s/%s: %w", c.JobID(id), dir, err)
		}
		files, dirs, err := parseListing(string(page))
		if err != nil {
			return nil, nil, fmt.Errorf("list session %s/%s: %w", c.JobID(id), dir, err)
		}
		return files, dirs, nil
	}
}

// Get implements ce.Backend: the whole session directory, files in
// parallel, resuming a partial local file with a Range request.
func (c *Client) Get(ctx context.Context, id string, opts ce.GetOptions) (*ce.GetResult, error) {
	return c.h.GetAll(ctx, c.lister(id), func(p string) string { return c.sessionURL(id, p) }, id, c.JobID(id), opts)
}
