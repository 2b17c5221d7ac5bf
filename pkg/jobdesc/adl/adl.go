// Package adl reads and writes EMI-ES ADL (Activity Description Language,
// http://www.eu-emi.eu/es/2010/12/adl) with NorduGrid's extensions
// (http://www.nordugrid.org/es/2011/12/nordugrid-adl): a single
// ActivityDescription or a bulk ActivityDescriptions. Times are seconds and
// memory and disk bytes on the wire; the model keeps durations and MB.
package adl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// Namespaces.
const (
	NS          = "http://www.eu-emi.eu/es/2010/12/adl"
	NSNordugrid = "http://www.nordugrid.org/es/2011/12/nordugrid-adl"
	NSTypes     = "http://www.eu-emi.eu/es/2010/12/types"
)

// Error is a problem at file:line:column.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	f := e.File
	if f == "" {
		f = "<input>"
	}
	if e.Line == 0 {
		return f + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", f, e.Line, e.Col, e.Msg)
}

// elem is an XML element with its position.
type elem struct {
	Space, Name string
	Attrs       []xml.Attr
	Text        string
	Kids        []*elem
	Line, Col   int
}

func (e *elem) child(name string) *elem {
	for _, k := range e.Kids {
		if k.Name == name {
			return k
		}
	}
	return nil
}

func (e *elem) children(name string) []*elem {
	var out []*elem
	for _, k := range e.Kids {
		if k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

func (e *elem) text(name string) string {
	if c := e.child(name); c != nil {
		return strings.TrimSpace(c.Text)
	}
	return ""
}

func (e *elem) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// maxDepth bounds nesting (a description is a few levels deep).
const maxDepth = 64

func readTree(file string, src []byte) (*elem, error) {
	d := xml.NewDecoder(bytes.NewReader(src))
	var stack []*elem
	var root *elem
	for {
		line, col := d.InputPos()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				l, c := d.InputPos()
				return nil, &Error{File: file, Line: l, Col: c, Msg: "XML syntax: " + se.Msg}
			}
			return nil, &Error{File: file, Msg: err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, &Error{File: file, Line: line, Col: col, Msg: "elements nested too deeply"}
			}
			e := &elem{Space: t.Name.Space, Name: t.Name.Local, Attrs: t.Attr, Line: line, Col: col}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, e)
			} else if root != nil {
				return nil, &Error{File: file, Line: line, Col: col, Msg: "more than one root element"}
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, &Error{File: file, Line: line, Col: col, Msg: "text outside the root element"}
			}
		}
	}
	if root == nil {
		return nil, &Error{File: file, Msg: "no XML element found"}
	}
	return root, nil
}

// Parse reads one ActivityDescription or an ActivityDescriptions bulk document.
func Parse(file string, src []byte) ([]jobdesc.Job, error) {
	root, err := readTree(file, src)
	if err != nil {
		return nil, err
	}
	p := &reader{file: file}
	var descs []*elem
	switch root.Name {
	case "ActivityDescription":
		descs = []*elem{root}
	case "ActivityDescriptions":
		descs = root.children("ActivityDescription")
		if len(descs) == 0 {
			return nil, p.errAt(root, "ActivityDescriptions holds no ActivityDescription")
		}
	default:
		return nil, p.errAt(root, fmt.Sprintf("root element is <%s>, expected ActivityDescription or ActivityDescriptions", root.Name))
	}
	var jobs []jobdesc.Job
	for _, d := range descs {
		if d.Space != NS && d.Space != "" {
			return nil, p.errAt(d, fmt.Sprintf("ActivityDescription in namespace %q, expected %q", d.Space, NS))
		}
		if d.Space == "" {
			p.warn(d, "", "ActivityDescription has no namespace; read as "+NS)
		}
		j := p.job(d)
		j.Warnings = append(j.Warnings, p.warns...)
		p.warns = nil
		jobs = append(jobs, j)
	}
	if len(p.errs) > 0 {
		return jobs, errors.Join(p.errs...)
	}
	return jobs, nil
}

type reader struct {
	file  string
	errs  []error
	warns []jobdesc.Warning
}

func (p *reader) errAt(e *elem, msg string) *Error {
	return &Error{File: p.file, Line: e.Line, Col: e.Col, Msg: msg}
}

func (p *reader) fail(e *elem, format string, args ...any) {
	p.errs = append(p.errs, p.errAt(e, fmt.Sprintf(format, args...)))
}

func (p *reader) warn(e *elem, attr, msg string) {
	p.warns = append(p.warns, jobdesc.Warning{File: p.file, Line: e.Line, Col: e.Col, Attribute: attr, Message: msg})
}

func (p *reader) boolean(e *elem) bool {
	switch strings.ToLower(strings.TrimSpace(e.Text)) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	p.fail(e, "<%s>: %q is not true or false", e.Name, strings.TrimSpace(e.Text))
	return false
}

func (p *reader) integer(e *elem) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(e.Text), 10, 64)
	if err != nil || n < 0 {
		p.fail(e, "<%s>: %q is not a non-negative integer", e.Name, strings.TrimSpace(e.Text))
	}
	return n
}

// duration reads seconds, or an ISO 8601 duration.
func (p *reader) duration(e *elem) time.Duration {
	s := strings.TrimSpace(e.Text)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if d, err := parseISODuration(s); err == nil {
		return d
	}
	p.fail(e, "<%s>: %q is neither seconds nor an ISO 8601 duration", e.Name, s)
	return 0
}

func mbFromBytes(n int64) int64 { return (n + 1024*1024 - 1) / (1024 * 1024) }

func (p *reader) executable(e *elem) jobdesc.Executable {
	x := jobdesc.Executable{Path: e.text("Path")}
	for _, a := range e.children("Argument") {
		x.Args = append(x.Args, a.Text)
	}
	if c := e.child("FailIfExitCodeNotEqualTo"); c != nil {
		n, err := strconv.Atoi(strings.TrimSpace(c.Text))
		if err != nil {
			p.fail(c, "<FailIfExitCodeNotEqualTo>: %q is not an integer", strings.TrimSpace(c.Text))
		}
		x.SuccessExitCode = &n
	}
	return x
}

func (p *reader) job(d *elem) jobdesc.Job {
	var j jobdesc.Job
	known := map[string]bool{"ActivityIdentification": true, "Application": true, "Resources": true, "DataStaging": true}
	for _, k := range d.Kids {
		if !known[k.Name] {
			p.warn(k, k.Name, fmt.Sprintf("unknown element <%s> in ActivityDescription; ignored", k.Name))
		}
	}
	if id := d.child("ActivityIdentification"); id != nil {
		j.Name, j.Description, j.Type = id.text("Name"), id.text("Description"), id.text("Type")
		for _, a := range id.children("Annotation") {
			j.Annotations = append(j.Annotations, strings.TrimSpace(a.Text))
		}
		for _, a := range id.children("ActivityOldID") {
			j.ActivityOldIDs = append(j.ActivityOldIDs, strings.TrimSpace(a.Text))
		}
	}
	if app := d.child("Application"); app != nil {
		p.application(app, &j)
	}
	if res := d.child("Resources"); res != nil {
		p.resources(res, &j)
	}
	if ds := d.child("DataStaging"); ds != nil {
		p.staging(ds, &j)
	}
	return j
}

func (p *reader) application(app *elem, j *jobdesc.Job) {
	for _, k := range app.Kids {
		switch k.Name {
		case "Executable":
			j.Executable = p.executable(k)
		case "Input":
			j.Stdin = strings.TrimSpace(k.Text)
		case "Output":
			j.Stdout = strings.TrimSpace(k.Text)
		case "Error":
			j.Stderr = strings.TrimSpace(k.Text)
		case "Environment":
			j.Environment = append(j.Environment, jobdesc.EnvVar{Name: k.text("Name"), Value: k.text("Value")})
		case "PreExecutable":
			j.PreExecutables = append(j.PreExecutables, p.executable(k))
		case "PostExecutable":
			j.PostExecutables = append(j.PostExecutables, p.executable(k))
		case "LoggingDirectory":
			j.LogDir = strings.TrimSpace(k.Text)
		case "RemoteLogging":
			j.RemoteLogging = append(j.RemoteLogging, jobdesc.RemoteLogging{Type: k.text("ServiceType"), URL: k.text("URL"),
				Optional: strings.EqualFold(k.attr("optional"), "true")})
		case "ExpirationTime":
			j.ExpirationTime = strings.TrimSpace(k.Text)
		case "WipeTime":
			j.Lifetime = p.duration(k)
		case "Notification":
			if proto := k.text("Protocol"); proto != "" && proto != "email" {
				p.warn(k, "Notification", fmt.Sprintf("notification protocol %q is not supported; ignored", proto))
				continue
			}
			var states []string
			for _, s := range k.children("OnState") {
				states = append(states, strings.TrimSpace(s.Text))
			}
			for _, r := range k.children("Recipient") {
				j.Notifications = append(j.Notifications, jobdesc.Notification{Email: strings.TrimSpace(r.Text), States: states})
			}
		case "Rerun":
			j.Rerun = int(p.integer(k))
		case "Priority":
			j.Priority = int(p.integer(k))
		case "StartTime":
			j.StartTime = strings.TrimSpace(k.Text)
		case "AccessControl":
			j.AccessControl = strings.TrimSpace(k.Text)
		case "CredentialService":
			j.CredentialServer = strings.TrimSpace(k.Text)
		case "DryRun":
			j.DryRun = p.boolean(k)
		default:
			p.warn(k, k.Name, fmt.Sprintf("unknown element <%s> in Application; kept as an extra attribute", k.Name))
			j.Extra = append(j.Extra, jobdesc.Attr{Name: "adl:Application/" + k.Name, Value: strings.TrimSpace(k.Text)})
		}
	}
}

func (p *reader) software(k *elem) jobdesc.Software {
	name := k.text("Name")
	if v := k.text("Version"); v != "" {
		name += "-" + v
	}
	s := jobdesc.Software{Name: name}
	for _, o := range k.children("Option") {
		s.Options = append(s.Options, strings.TrimSpace(o.Text))
	}
	return s
}

func (p *reader) resources(res *elem, j *jobdesc.Job) {
	r := &j.Resources
	for _, k := range res.Kids {
		switch k.Name {
		case "OperatingSystem":
			r.OperatingSystem = append(r.OperatingSystem, p.software(k))
		case "Platform":
			r.Architecture = strings.TrimSpace(k.Text)
		case "RuntimeEnvironment":
			r.RuntimeEnvironments = append(r.RuntimeEnvironments, p.software(k))
		case "NodeAccess":
			switch strings.TrimSpace(k.Text) {
			case "inbound":
				r.NodeAccessInbound = true
			case "outbound":
				r.NodeAccessOutbound = true
			case "inoutbound":
				r.NodeAccessInbound, r.NodeAccessOutbound = true, true
			default:
				p.fail(k, "<NodeAccess>: %q is not inbound, outbound or inoutbound", strings.TrimSpace(k.Text))
			}
		case "IndividualPhysicalMemory":
			r.MemoryMB = mbFromBytes(p.integer(k))
		case "IndividualVirtualMemory":
			r.VirtualMemoryMB = mbFromBytes(p.integer(k))
		case "DiskSpaceRequirement":
			r.DiskMB = mbFromBytes(p.integer(k))
		case "SlotRequirement":
			if c := k.child("NumberOfSlots"); c != nil {
				r.Slots = int(p.integer(c))
			}
			if c := k.child("SlotsPerHost"); c != nil {
				r.SlotsPerHost = int(p.integer(c))
			}
			if c := k.child("ExclusiveExecution"); c != nil {
				r.Exclusive = jobdesc.Bool(p.boolean(c))
			}
		case "QueueName":
			r.Queue = strings.TrimSpace(k.Text)
		case "IndividualCPUTime":
			r.IndividualCPUTime = p.duration(k)
		case "TotalCPUTime":
			r.CPUTime = p.duration(k)
		case "WallTime":
			r.WallTime = p.duration(k)
		case "Benchmark":
			v, err := strconv.ParseFloat(k.text("BenchmarkValue"), 64)
			if err != nil {
				p.fail(k, "<Benchmark>: BenchmarkValue %q is not a number", k.text("BenchmarkValue"))
			}
			r.Benchmark = &jobdesc.Benchmark{Name: k.text("BenchmarkType"), Value: v}
		default:
			p.warn(k, k.Name, fmt.Sprintf("unsupported element <%s> in Resources; kept as an extra attribute", k.Name))
			j.Extra = append(j.Extra, jobdesc.Attr{Name: "adl:Resources/" + k.Name, Value: strings.TrimSpace(k.Text)})
		}
	}
}

func (p *reader) location(k *elem, output bool) jobdesc.Location {
	l := jobdesc.Location{URL: k.text("URI"), DelegationID: k.text("DelegationID")}
	if l.URL == "" {
		p.fail(k, "<%s> has no URI", k.Name)
	}
	for _, o := range k.children("Option") {
		name, val := o.text("Name"), o.text("Value")
		if name == "location" { // an alternative URL for the same file (ARC)
			l.Locations = append(l.Locations, jobdesc.Location{URL: val})
			continue
		}
		l.Options = append(l.Options, jobdesc.Attr{Name: name, Value: val})
	}
	if output {
		flag := func(name string) *bool {
			if c := k.child(name); c != nil {
				return jobdesc.Bool(p.boolean(c))
			}
			return nil
		}
		l.Mandatory, l.UseIfFailure, l.UseIfCancel, l.UseIfSuccess = flag("Mandatory"), flag("UseIfFailure"), flag("UseIfCancel"), flag("UseIfSuccess")
	}
	return l
}

func (p *reader) staging(ds *elem, j *jobdesc.Job) {
	for _, k := range ds.Kids {
		switch k.Name {
		case "InputFile":
			f := jobdesc.InputFile{Name: k.text("Name")}
			if f.Name == "" {
				p.fail(k, "<InputFile> has no Name")
			}
			for _, s := range k.children("Source") {
				f.Sources = append(f.Sources, p.location(s, false))
			}
			if c := k.child("IsExecutable"); c != nil {
				f.IsExecutable = p.boolean(c)
			}
			j.Inputs = append(j.Inputs, f)
		case "OutputFile":
			f := jobdesc.OutputFile{Name: k.text("Name")}
			if f.Name == "" {
				p.fail(k, "<OutputFile> has no Name")
			}
			for _, t := range k.children("Target") {
				f.Targets = append(f.Targets, p.location(t, true))
			}
			j.Outputs = append(j.Outputs, f)
		case "DelegationID":
			j.DelegationID = strings.TrimSpace(k.Text)
		case "ClientDataPush":
			if p.boolean(k) {
				p.warn(k, "ClientDataPush", "ClientDataPush=true asks A-REX to wait for a completion signal its REST interface never sends; cesub uploads inputs without it")
			}
		default:
			p.warn(k, k.Name, fmt.Sprintf("unknown element <%s> in DataStaging; ignored", k.Name))
		}
	}
}

func parseISODuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("ISO 8601 duration %q does not parse", s)
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, bad
	}
	var total time.Duration
	inTime := false
	num := ""
	for _, c := range s[1:] {
		switch {
		case c == 'T':
			inTime = true
		case c >= '0' && c <= '9':
			num += string(c)
		default:
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil {
				return 0, bad
			}
			num = ""
			unit := map[bool]map[rune]time.Duration{
				false: {'Y': 365 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour},
				true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
			}[inTime][c]
			if unit == 0 {
				return 0, bad
			}
			total += time.Duration(n) * unit
		}
	}
	if num != "" {
		return 0, bad
	}
	return total, nil
}
