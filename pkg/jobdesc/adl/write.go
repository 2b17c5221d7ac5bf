package adl

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// node builds output XML.
type node struct {
	name  string
	attrs []xml.Attr
	text  string
	kids  []*node
}

func (n *node) add(name string) *node {
	c := &node{name: name}
	n.kids = append(n.kids, c)
	return c
}

func (n *node) val(name, text string) {
	if text != "" {
		n.add(name).text = text
	}
}

func (n *node) encode(e *xml.Encoder) error {
	start := xml.StartElement{Name: xml.Name{Local: n.name}, Attr: n.attrs}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if n.text != "" {
		if err := e.EncodeToken(xml.CharData(n.text)); err != nil {
			return err
		}
	}
	for _, k := range n.kids {
		if err := k.encode(e); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

func bytesOf(mb int64) string { return strconv.FormatInt(mb*1024*1024, 10) }

// isoDuration writes a duration as ISO 8601 (PnDTnHnMnS).
func isoDuration(d time.Duration) string {
	s := int64(d / time.Second)
	days := s / 86400
	s %= 86400
	var b strings.Builder
	b.WriteString("P")
	if days > 0 {
		b.WriteString(strconv.FormatInt(days, 10) + "D")
	}
	if s > 0 || days == 0 {
		b.WriteString("T" + strconv.FormatInt(s, 10) + "S")
	}
	return b.String()
}

func writeExecutable(n *node, x jobdesc.Executable) {
	n.val("Path", x.Path)
	for _, a := range x.Args {
		n.add("Argument").text = a
	}
	if x.SuccessExitCode != nil {
		n.val("FailIfExitCodeNotEqualTo", strconv.Itoa(*x.SuccessExitCode))
	}
}

func writeLocation(n *node, l jobdesc.Location, output bool) {
	n.val("URI", l.URL)
	for _, x := range l.Locations {
		opt := n.add("Option")
		opt.val("Name", "location")
		opt.val("Value", x.URL)
	}
	for _, o := range l.Options {
		opt := n.add("Option")
		opt.val("Name", o.Name)
		opt.val("Value", o.Value)
	}
	n.val("DelegationID", l.DelegationID)
	if output {
		flag := func(name string, b *bool) {
			if b != nil {
				n.val(name, strconv.FormatBool(*b))
			}
		}
		flag("Mandatory", l.Mandatory)
		flag("UseIfFailure", l.UseIfFailure)
		flag("UseIfCancel", l.UseIfCancel)
		flag("UseIfSuccess", l.UseIfSuccess)
	}
}

// warnings collects what ADL cannot express, naming the attribute.
type warnings []jobdesc.Warning

func (w *warnings) add(attr, msg string) {
	*w = append(*w, jobdesc.Warning{Attribute: attr, Message: msg})
}

// description builds one ActivityDescription; what ADL cannot express is
// returned as warnings naming the attribute.
func description(j jobdesc.Job) (*node, []jobdesc.Warning) {
	var warns warnings
	root := &node{name: "ActivityDescription", attrs: []xml.Attr{
		{Name: xml.Name{Local: "xmlns"}, Value: NS},
		{Name: xml.Name{Local: "xmlns:nordugrid-adl"}, Value: NSNordugrid},
		{Name: xml.Name{Local: "xmlns:emiestypes"}, Value: NSTypes},
	}}
	if j.Name != "" || j.Description != "" || j.Type != "" || len(j.Annotations) > 0 || len(j.ActivityOldIDs) > 0 {
		writeIdentification(root.add("ActivityIdentification"), j)
	}
	writeApplication(root.add("Application"), j)
	if res := resources(j.Resources, &warns); len(res.kids) > 0 {
		root.kids = append(root.kids, res)
	}
	if ds := dataStaging(j); len(ds.kids) > 0 {
		root.kids = append(root.kids, ds)
	}
	for _, a := range j.Extra {
		if !strings.HasPrefix(a.Name, "adl:") {
			warns.add(a.Name, "attribute "+a.Name+" has no ADL equivalent; not written")
		}
	}
	return root, warns
}

// writeIdentification fills ActivityIdentification: name, description,
// type, annotations and old ids.
func writeIdentification(id *node, j jobdesc.Job) {
	id.val("Name", j.Name)
	id.val("Description", j.Description)
	id.val("Type", j.Type)
	for _, a := range j.Annotations {
		id.add("Annotation").text = a
	}
	for _, a := range j.ActivityOldIDs {
		id.add("nordugrid-adl:ActivityOldID").text = a
	}
}

// writeApplication fills Application: what runs, its streams and
// environment, logging, lifetime, notifications and ARC's own options.
func writeApplication(app *node, j jobdesc.Job) {
	writeExecutable(app.add("Executable"), j.Executable)
	app.val("Input", j.Stdin)
	app.val("Output", j.Stdout)
	app.val("Error", j.Stderr)
	for _, e := range j.Environment {
		env := app.add("Environment")
		env.add("Name").text = e.Name
		env.add("Value").text = e.Value
	}
	for _, x := range j.PreExecutables {
		writeExecutable(app.add("PreExecutable"), x)
	}
	for _, x := range j.PostExecutables {
		writeExecutable(app.add("PostExecutable"), x)
	}
	app.val("nordugrid-adl:LoggingDirectory", j.LogDir)
	for _, r := range j.RemoteLogging {
		rl := app.add("RemoteLogging")
		rl.val("ServiceType", r.Type)
		rl.val("URL", r.URL)
		if r.Optional {
			rl.attrs = []xml.Attr{{Name: xml.Name{Local: "optional"}, Value: "true"}}
		}
	}
	app.val("ExpirationTime", j.ExpirationTime)
	if j.Lifetime != 0 {
		app.val("WipeTime", isoDuration(j.Lifetime))
	}
	for _, nt := range j.Notifications {
		n := app.add("Notification")
		n.val("Protocol", "email")
		n.val("Recipient", nt.Email)
		for _, s := range nt.States {
			n.add("OnState").text = s
		}
	}
	if j.Rerun != 0 {
		app.val("nordugrid-adl:Rerun", strconv.Itoa(j.Rerun))
	}
	if j.Priority != 0 {
		app.val("nordugrid-adl:Priority", strconv.Itoa(j.Priority))
	}
	app.val("nordugrid-adl:StartTime", j.StartTime)
	app.val("nordugrid-adl:AccessControl", j.AccessControl)
	app.val("nordugrid-adl:CredentialService", j.CredentialServer)
	if j.DryRun {
		app.val("nordugrid-adl:DryRun", "true")
	}
}

// resources builds Resources: software, sizes, slots, queue, times and
// benchmark.
func resources(r jobdesc.Resources, warns *warnings) *node {
	res := &node{name: "Resources"}
	for _, s := range r.OperatingSystem {
		os := res.add("OperatingSystem")
		os.val("Name", s.Name)
	}
	res.val("Platform", r.Architecture)
	for _, s := range r.RuntimeEnvironments {
		writeRuntimeEnvironment(res, s, warns)
	}
	if len(r.Middleware) > 0 {
		warns.add("middleware", "ADL has no middleware requirement; not written")
	}
	switch {
	case r.NodeAccessInbound && r.NodeAccessOutbound:
		res.val("NodeAccess", "inoutbound")
	case r.NodeAccessInbound:
		res.val("NodeAccess", "inbound")
	case r.NodeAccessOutbound:
		res.val("NodeAccess", "outbound")
	}
	if r.MemoryMB != 0 {
		res.val("IndividualPhysicalMemory", bytesOf(r.MemoryMB))
	}
	if r.VirtualMemoryMB != 0 {
		res.val("IndividualVirtualMemory", bytesOf(r.VirtualMemoryMB))
	}
	if r.DiskMB != 0 {
		res.val("DiskSpaceRequirement", bytesOf(r.DiskMB))
	}
	if r.Slots != 0 || r.SlotsPerHost != 0 || r.Exclusive != nil {
		writeSlots(res.add("SlotRequirement"), r)
	}
	res.val("QueueName", r.Queue)
	if len(r.RejectQueues) > 0 {
		warns.add("queue", "queue != is a brokering hint; ADL cannot carry it")
	}
	if r.IndividualCPUTime != 0 {
		res.val("IndividualCPUTime", secs(r.IndividualCPUTime))
	}
	if r.CPUTime != 0 {
		res.val("TotalCPUTime", secs(r.CPUTime))
	}
	if r.WallTime != 0 {
		res.val("WallTime", secs(r.WallTime))
	}
	if r.Benchmark != nil && r.Benchmark.Name != "clock rate" {
		b := res.add("Benchmark")
		b.val("BenchmarkType", r.Benchmark.Name)
		b.val("BenchmarkValue", strconv.FormatFloat(r.Benchmark.Value, 'g', -1, 64))
	}
	if r.GPUs != 0 {
		warns.add("gpus", "ADL has no GPU request; not written")
	}
	return res
}

// writeRuntimeEnvironment adds one RuntimeEnvironment: NAME-VERSION split
// at the first '-' before a digit.
func writeRuntimeEnvironment(res *node, s jobdesc.Software, warns *warnings) {
	if s.Relation != "" && s.Relation != "=" {
		warns.add("runtimeenvironment", "ADL has no relation for RuntimeEnvironment; "+s.Relation+" "+s.Name+" is written as an exact requirement")
	}
	rte := res.add("RuntimeEnvironment")
	name, version := s.Name, ""
	for i := 0; i+1 < len(s.Name); i++ {
		if s.Name[i] == '-' && s.Name[i+1] >= '0' && s.Name[i+1] <= '9' {
			name, version = s.Name[:i], s.Name[i+1:]
			break
		}
	}
	rte.val("Name", name)
	rte.val("Version", version)
	for _, o := range s.Options {
		rte.add("Option").text = o
	}
}

// writeSlots fills SlotRequirement.
func writeSlots(sr *node, r jobdesc.Resources) {
	if r.Slots != 0 {
		sr.val("NumberOfSlots", strconv.Itoa(r.Slots))
	}
	if r.SlotsPerHost != 0 {
		sr.val("SlotsPerHost", strconv.Itoa(r.SlotsPerHost))
	}
	if r.Exclusive != nil {
		sr.val("ExclusiveExecution", strconv.FormatBool(*r.Exclusive))
	}
}

// dataStaging builds DataStaging: input and output files and the
// delegation they use.
func dataStaging(j jobdesc.Job) *node {
	ds := &node{name: "DataStaging"}
	for _, f := range j.Inputs {
		in := ds.add("InputFile")
		in.val("Name", f.Name)
		for _, s := range f.Sources {
			writeLocation(in.add("Source"), s, false)
		}
		if f.IsExecutable {
			in.val("IsExecutable", "true")
		}
	}
	for _, f := range j.Outputs {
		out := ds.add("OutputFile")
		out.val("Name", f.Name)
		for _, t := range f.Targets {
			writeLocation(out.add("Target"), t, true)
		}
	}
	ds.val("nordugrid-adl:DelegationID", j.DelegationID)
	return ds
}

// Write renders jobs as ADL: one ActivityDescription, or an
// ActivityDescriptions bulk document for several. It returns warnings for
// what ADL cannot express.
func Write(jobs ...jobdesc.Job) ([]byte, []jobdesc.Warning, error) {
	var buf bytes.Buffer
	w := NewWriter(&buf, len(jobs))
	var warns []jobdesc.Warning
	for _, j := range jobs {
		ws, err := w.Add(j)
		if err != nil {
			return nil, nil, err
		}
		warns = append(warns, ws...)
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), warns, nil
}

// Writer writes the document Write makes a job at a time: n jobs, one
// ActivityDescription (n is 1) or an ActivityDescriptions of them.
type Writer struct {
	w       io.Writer
	e       *xml.Encoder
	n       int
	started bool
	err     error
}

// NewWriter writes n jobs to w as Write does.
func NewWriter(w io.Writer, n int) *Writer {
	e := xml.NewEncoder(w)
	e.Indent("", "  ")
	return &Writer{w: w, e: e, n: n}
}

var wrapper = xml.StartElement{Name: xml.Name{Local: "ActivityDescriptions"}}

func (w *Writer) start() error {
	if w.started {
		return nil
	}
	w.started = true
	if _, err := io.WriteString(w.w, xml.Header); err != nil {
		return err
	}
	if w.n != 1 {
		return w.e.EncodeToken(wrapper)
	}
	return nil
}

// Add writes one job; the warnings name what ADL cannot say of it.
func (w *Writer) Add(j jobdesc.Job) ([]jobdesc.Warning, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.err = w.start(); w.err != nil {
		return nil, w.err
	}
	d, warns := description(j)
	if w.err = d.encode(w.e); w.err == nil {
		w.err = w.e.Flush()
	}
	return warns, w.err
}

// Close ends the document.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.start(); err != nil {
		return err
	}
	if w.n != 1 {
		if err := w.e.EncodeToken(wrapper.End()); err != nil {
			return err
		}
	}
	if err := w.e.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w.w, "\n")
	return err
}

// Warnings are the warnings Write gives for j, without writing it.
func Warnings(j jobdesc.Job) []jobdesc.Warning {
	_, warns := description(j)
	return warns
}

// WriteElements appends jobs to buf as bare ActivityDescription elements, no
// XML declaration and no wrapper, as EMI-ES CreateActivity carries them.
// When clientPush(i) is true, job i gets DataStaging/ClientDataPush=true: the
// CE waits for the client's "client-datapush-done" before staging inputs.
func WriteElements(buf *bytes.Buffer, jobs []jobdesc.Job, clientPush func(i int) bool) ([]jobdesc.Warning, error) {
	e := xml.NewEncoder(buf)
	var warns []jobdesc.Warning
	for i, j := range jobs {
		d, w := description(j)
		warns = append(warns, w...)
		if clientPush != nil && clientPush(i) {
			var ds *node
			for _, k := range d.kids {
				if k.name == "DataStaging" {
					ds = k
				}
			}
			if ds == nil {
				ds = d.add("DataStaging")
			}
			ds.kids = append([]*node{{name: "ClientDataPush", text: "true"}}, ds.kids...)
		}
		if err := d.encode(e); err != nil {
			return nil, err
		}
	}
	if err := e.Flush(); err != nil {
		return nil, err
	}
	return warns, nil
}
