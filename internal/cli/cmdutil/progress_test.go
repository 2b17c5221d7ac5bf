package cmdutil

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressOnlyOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	f := &Factory{IO: &IOStreams{ErrOut: &buf, ErrTTY: false}, Now: func() time.Time { return clock }}
	p := f.NewProgress("uploading", 3)
	p.Add(10) // nil: no-op
	p.Done()
	if buf.Len() != 0 {
		t.Fatalf("progress written to a non-terminal: %q", buf.String())
	}
	f.IO.ErrTTY = true
	p = f.NewProgress("uploading", 3)
	p.Add(1024)
	p.Add(1024) // within 100 ms: not redrawn
	clock = clock.Add(time.Second)
	p.Add(1 << 20) // the last one is always drawn
	p.Done()
	out := buf.String()
	if strings.Count(out, "uploading:") != 2 || !strings.Contains(out, "uploading: 3/3 files, 1.0 MiB") {
		t.Fatalf("progress output %q", out)
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("the line is not cleared at the end: %q", out)
	}
}

func TestBarOnlyOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	f := &Factory{IO: &IOStreams{ErrOut: &buf, ErrTTY: false}}
	b := f.NewBar("submitting", 10)
	b.Add(3) // nil: no-op
	b.Done()
	if buf.Len() != 0 || b != nil {
		t.Fatalf("a bar on a non-terminal: %q", buf.String())
	}
	f.IO.ErrTTY = true
	b = f.NewBar("submitting", 10)
	for i := 0; i < 10; i++ {
		b.Add(1)
	}
	b.Done()
	if out := buf.String(); !strings.Contains(out, "submitting") || !strings.Contains(out, "/10, ") {
		t.Fatalf("bar output %q", out)
	}
	if f.NewBar("one job", 1) != nil {
		t.Error("a bar for a single job")
	}
}
