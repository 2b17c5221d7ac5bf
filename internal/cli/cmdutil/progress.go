package cmdutil

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress is a one-line progress report on stderr, drawn only when stderr
// is a terminal (scripts and pipes get nothing). Safe for concurrent use; a
// nil *Progress does nothing.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	files int
	bytes int64
	total int
	last  time.Time
	drawn bool
	now   func() time.Time
}

// NewProgress starts a report for total items (0: unknown); nil unless stderr is a TTY.
func (f *Factory) NewProgress(label string, total int) *Progress {
	if f.IO == nil || !f.IO.ErrTTY {
		return nil
	}
	now := f.Now
	if now == nil {
		now = time.Now
	}
	return &Progress{w: f.IO.TermErr(), label: label, total: total, now: now}
}

// Add counts a finished item of n bytes and redraws at most ten times a second.
func (p *Progress) Add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files++
	p.bytes += n
	if t := p.now(); p.files == p.total || t.Sub(p.last) >= 100*time.Millisecond {
		p.last = t
		p.draw()
	}
}

func (p *Progress) draw() {
	of := ""
	if p.total > 0 {
		of = fmt.Sprintf("/%d", p.total)
	}
	fmt.Fprintf(p.w, "\r\033[K%s: %d%s files, %s", p.label, p.files, of, humanBytes(p.bytes))
	p.drawn = true
}

// Done clears the line.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Bar is a progress bar of jobs (schollz/progressbar) on stderr, drawn
// only when stderr is a terminal; a nil *Bar does nothing. Safe for
// concurrent use.
type Bar struct {
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

// NewBar starts a bar for total items; nil unless stderr is a TTY.
func (f *Factory) NewBar(label string, total int) *Bar {
	if f.IO == nil || !f.IO.ErrTTY || total <= 1 {
		return nil
	}
	return &Bar{bar: progressbar.NewOptions(total, progressbar.OptionSetWriter(f.IO.TermErr()), progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("jobs"), progressbar.OptionClearOnFinish())}
}

// Add counts n more items done.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.bar.Add(n)
}

// Done clears the bar.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.bar.Finish()
	_ = b.bar.Clear()
}
