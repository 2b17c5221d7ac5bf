package emies

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cesub/cesub/pkg/budget"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/go-resty/resty/v2"
)

// The EMI-ES namespaces (EMI-ES 1.16, as A-REX 6 serves them).
const (
	nsSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsTypes    = "http://www.eu-emi.eu/es/2010/12/types"
	nsCreate   = "http://www.eu-emi.eu/es/2010/12/creation/types"
	nsDeleg    = "http://www.eu-emi.eu/es/2010/12/delegation/types"
	nsRInfo    = "http://www.eu-emi.eu/es/2010/12/resourceinfo/types"
	nsManag    = "http://www.eu-emi.eu/es/2010/12/activitymanagement/types"
	nsAInfo    = "http://www.eu-emi.eu/es/2010/12/activity/types"
	envelopeNS = `xmlns:soap-env="` + nsSOAP + `" xmlns:estypes="` + nsTypes + `" xmlns:escreate="` + nsCreate +
		`" xmlns:esdeleg="` + nsDeleg + `" xmlns:esrinfo="` + nsRInfo + `" xmlns:esmanag="` + nsManag +
		`" xmlns:esainfo="` + nsAInfo + `"`
)

// envelope wraps an operation element (already prefixed with one of the
// envelope's namespace prefixes) in a SOAP 1.1 envelope.
func envelope(op string) []byte {
	var b bytes.Buffer
	b.Grow(len(op) + 600)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<soap-env:Envelope ` + envelopeNS + `><soap-env:Body>`)
	b.WriteString(op)
	b.WriteString(`</soap-env:Body></soap-env:Envelope>`)
	return b.Bytes()
}

// esc escapes text for an XML element.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// idRequest is an operation element listing activity ids, the body of
// every EMI-ES vector operation on activities.
func idRequest(op string, ids []string) string {
	var b strings.Builder
	b.WriteString("<" + op + ">")
	for _, id := range ids {
		b.WriteString(elem("estypes:ActivityID", id))
	}
	b.WriteString("</" + op + ">")
	return b.String()
}

// elem writes <name>escaped text</name>.
func elem(name, text string) string { return "<" + name + ">" + esc(text) + "</" + name + ">" }

// node is a parsed XML element; names are local (namespaces are matched by
// the element names EMI-ES defines, which do not clash).
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []node     `xml:",any"`
}

// child returns the first child named name, or nil.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for i := range n.Kids {
		if n.Kids[i].XMLName.Local == name {
			return &n.Kids[i]
		}
	}
	return nil
}

// children returns every child named name.
func (n *node) children(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for i := range n.Kids {
		if n.Kids[i].XMLName.Local == name {
			out = append(out, &n.Kids[i])
		}
	}
	return out
}

// text is the trimmed text of the child named name ("" if none).
func (n *node) text(name string) string {
	if c := n.child(name); c != nil {
		return strings.TrimSpace(c.Text)
	}
	return ""
}

func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Fault is an EMI-ES fault: either the whole call's (a SOAP Fault) or one
// item's of a vector operation.
type Fault struct {
	Op          string // the operation, e.g. CreateActivity
	Code        string // SOAP faultcode (whole-call faults)
	String      string // SOAP faultstring (whole-call faults)
	Type        string // the EMI-ES fault element, e.g. ActivityNotFoundFault
	Message     string
	Description string
	FailureCode string
	ServerLimit string // VectorLimitExceededFault
}

func (f *Fault) Error() string {
	var parts []string
	if f.Type != "" {
		parts = append(parts, f.Type)
	}
	msg := f.Message
	if msg == "" {
		msg = f.String
	}
	if msg != "" {
		parts = append(parts, msg)
	}
	if f.Description != "" && f.Description != msg {
		parts = append(parts, f.Description)
	}
	if f.ServerLimit != "" {
		parts = append(parts, "the CE takes at most "+f.ServerLimit+" per request")
	}
	if f.FailureCode != "" {
		parts = append(parts, "failure code "+f.FailureCode)
	}
	if len(parts) == 0 {
		parts = append(parts, "SOAP fault "+f.Code)
	}
	return "EMI-ES " + f.Op + ": " + strings.Join(parts, ": ")
}

// AuthFailure marks access-control faults and identities the CE cannot map
// as authentication/authorization failures (exit 4).
func (f *Fault) AuthFailure() bool {
	return f.Type == "AccessControlFault" || strings.Contains(f.String+f.Message, "can't be assigned configuration")
}

// NotFound reports a fault for an activity the CE does not have.
func (f *Fault) NotFound() bool {
	return f.Type == "ActivityNotFoundFault" || f.Type == "UnknownActivityIDFault"
}

// faultOf returns the fault element among n's children (an element whose
// name ends in "Fault"), as a Fault, or nil.
func faultOf(op string, n *node) *Fault {
	if n == nil {
		return nil
	}
	for i := range n.Kids {
		k := &n.Kids[i]
		if strings.HasSuffix(k.XMLName.Local, "Fault") {
			return &Fault{Op: op, Type: k.XMLName.Local, Message: k.text("Message"), Description: k.text("Description"),
				FailureCode: k.text("FailureCode"), ServerLimit: k.text("ServerLimit")}
		}
	}
	return nil
}

// soapFault reads a SOAP Fault element.
func soapFault(op string, f *node) *Fault {
	out := &Fault{Op: op, Code: f.text("faultcode"), String: f.text("faultstring")}
	detail := f.child("detail")
	if detail == nil {
		detail = f.child("Detail")
	}
	if d := faultOf(op, detail); d != nil {
		d.Code, d.String = out.Code, out.String
		return d
	}
	return out
}

// call posts one operation and returns the response element (the Body's
// first child). SOAP faults become *Fault; an identity the CE refuses
// becomes an auth error.
func (c *Client) call(ctx context.Context, op string, body []byte) (*node, error) {
	_, n, err := c.post(ctx, op, body)
	return n, err
}

// post is call that also returns the HTTP response (nil when none came),
// for callers that want its TLS state. The answer is decoded as a stream
// into a tree of nodes under arexhttp.SOAPLimits.
func (c *Client) post(ctx context.Context, op string, body []byte) (*resty.Response, *node, error) {
	var n node
	resp, err := c.postInto(ctx, op, body, &n, arexhttp.SOAPLimits)
	if err != nil {
		return resp, nil, err
	}
	return resp, &n, nil
}

// postInto posts one operation and decodes the response element (the
// Body's first child) into into, as a stream under lim. A SOAP fault (also
// with a 500) is read as a tree of nodes instead.
func (c *Client) postInto(ctx context.Context, op string, body []byte, into any, lim budget.Limits) (*resty.Response, error) {
	req := c.h.RC.R().SetContext(ctx).SetHeader("Content-Type", "text/xml; charset=utf-8").SetHeader("SOAPAction", "").SetBody(body)
	resp, raw, err := c.h.Post(req, c.endpoint, "EMI-ES "+op, http.StatusOK, http.StatusInternalServerError)
	if err != nil {
		return resp, err
	}
	defer raw.Close()
	var r io.Reader = raw
	if resp.StatusCode() != http.StatusOK {
		// a 500 is a SOAP fault, or an error page: read its start only
		b, _ := io.ReadAll(io.LimitReader(raw, 64<<10))
		if !bytes.Contains(b, []byte("Envelope")) {
			return resp, arexhttp.CheckBody("EMI-ES "+op, resp, b, http.StatusOK)
		}
		r = bytes.NewReader(b)
	}
	return resp, c.answer(op, resp, c.h.Msg("EMI-ES "+op+" answer", lim).XMLDecoder(r), into)
}

// answer reads the SOAP envelope of op from dec: the Body's first child
// into into, or the fault.
func (c *Client) answer(op string, resp *resty.Response, dec *xml.Decoder, into any) error {
	notXML := func(err error) error {
		if budget.IsError(err) {
			return fmt.Errorf("EMI-ES %s: %w", op, err)
		}
		return fmt.Errorf("EMI-ES %s: %s answered %s with a body that is not XML: %w", op, c.endpoint, resp.Status(), err)
	}
	env, err := nextStart(dec)
	if err != nil {
		return notXML(err)
	}
	if env.Name.Local != "Envelope" {
		return fmt.Errorf("EMI-ES %s: %s answered a <%s> document, not a SOAP envelope", op, c.endpoint, env.Name.Local)
	}
	first, err := bodyChild(dec)
	if err != nil && err != io.EOF {
		return notXML(err)
	}
	if first == nil {
		return fmt.Errorf("EMI-ES %s: %s answered an empty SOAP body (%s)", op, c.endpoint, resp.Status())
	}
	if first.Name.Local == "Fault" {
		var f node
		if err := dec.DecodeElement(&f, first); err != nil {
			return notXML(err)
		}
		return c.faultError(op, soapFault(op, &f))
	}
	if resp.StatusCode() != http.StatusOK {
		return fmt.Errorf("EMI-ES %s: %s answered %s", op, c.endpoint, resp.Status())
	}
	if err := dec.DecodeElement(into, first); err != nil {
		return notXML(err)
	}
	fault, err := laterFault(op, dec)
	if err != nil {
		return notXML(err)
	}
	if fault != nil {
		return c.faultError(op, fault)
	}
	return nil
}

// laterFault reads the rest of the Body for a SOAP Fault: A-REX answers some
// failures (PutDelegation of an unknown id) with an empty response element
// followed by a Fault, both in a 200.
func laterFault(op string, dec *xml.Decoder) (*Fault, error) {
	for {
		el, err := nextStart(dec)
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if el.Name.Local == "Fault" {
			var f node
			if err := dec.DecodeElement(&f, el); err != nil {
				return nil, err
			}
			return soapFault(op, &f), nil
		}
		if err := dec.Skip(); err != nil {
			return nil, err
		}
	}
}

// faultError is the error for a SOAP fault: an identity the CE refuses is
// an auth error.
func (c *Client) faultError(op string, fault *Fault) error {
	if !fault.AuthFailure() {
		return fault
	}
	msg := fault.Message
	if msg == "" {
		msg = fault.String
	}
	if arexhttp.Unassigned(msg) {
		return &arexhttp.AuthError{Op: "EMI-ES " + op, Err: fmt.Errorf("%s answered %q", c.endpoint, msg),
			Hint: arexhttp.UnassignedHint("", c.addr.HostPort())}
	}
	return &arexhttp.AuthError{Op: "EMI-ES " + op, Err: fmt.Errorf("%s answered %q (the CE does not admit this identity; check `cesub token check --ce %s`)",
		c.endpoint, msg, c.addr.HostPort())}
}

// nextStart reads up to the next start element (nil, io.EOF when the
// enclosing element or the document ends first).
func nextStart(dec *xml.Decoder) (*xml.StartElement, error) {
	for {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return &t, nil
		case xml.EndElement:
			return nil, io.EOF
		}
	}
}

// bodyChild reads past the envelope's other children (a Header) into its
// Body, and returns the Body's first child element (nil if it has none).
func bodyChild(dec *xml.Decoder) (*xml.StartElement, error) {
	for {
		el, err := nextStart(dec)
		if err != nil {
			return nil, err
		}
		if el.Name.Local == "Body" {
			return nextStart(dec)
		}
		if err := dec.Skip(); err != nil {
			return nil, err
		}
	}
}

// isFault reports whether err is (or wraps) an EMI-ES fault of that type.
func isFault(err error, typ string) bool {
	var f *Fault
	return errors.As(err, &f) && f.Type == typ
}
