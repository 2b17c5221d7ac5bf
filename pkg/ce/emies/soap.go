package emies

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
// for callers that want its TLS state or its raw body.
func (c *Client) post(ctx context.Context, op string, body []byte) (*resty.Response, *node, error) {
	resp, err := c.h.RC.R().SetContext(ctx).SetHeader("Content-Type", "text/xml; charset=utf-8").
		SetHeader("SOAPAction", "").SetBody(body).Post(c.endpoint)
	if err != nil {
		return nil, nil, arexhttp.Check("EMI-ES "+op, resp, err)
	}
	n, err := c.answer(op, resp)
	return resp, n, err
}

// answer reads the SOAP response of op: the Body's first child, or the fault.
func (c *Client) answer(op string, resp *resty.Response) (*node, error) {
	raw := resp.Body()
	code := resp.StatusCode()
	isXML := bytes.Contains(raw, []byte("Envelope"))
	if code != http.StatusOK && !(code == http.StatusInternalServerError && isXML) {
		return nil, arexhttp.Check("EMI-ES "+op, resp, nil, http.StatusOK)
	}
	var env node
	if err := xml.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("EMI-ES %s: %s answered %s with a body that is not XML: %w", op, c.endpoint, resp.Status(), err)
	}
	if env.XMLName.Local != "Envelope" {
		return nil, fmt.Errorf("EMI-ES %s: %s answered a <%s> document, not a SOAP envelope", op, c.endpoint, env.XMLName.Local)
	}
	b := env.child("Body")
	if b == nil || len(b.Kids) == 0 {
		return nil, fmt.Errorf("EMI-ES %s: %s answered an empty SOAP body (%s)", op, c.endpoint, resp.Status())
	}
	if f := b.child("Fault"); f != nil {
		fault := soapFault(op, f)
		if fault.AuthFailure() {
			msg := fault.Message
			if msg == "" {
				msg = fault.String
			}
			return nil, &arexhttp.AuthError{Op: "EMI-ES " + op, Err: fmt.Errorf("%s answered %q (the CE does not admit this identity; check `cesub token check --ce %s`)",
				c.endpoint, msg, c.addr.HostPort())}
		}
		return nil, fault
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("EMI-ES %s: %s answered %s", op, c.endpoint, resp.Status())
	}
	return &b.Kids[0], nil
}

// isFault reports whether err is (or wraps) an EMI-ES fault of that type.
func isFault(err error, typ string) bool {
	var f *Fault
	return errors.As(err, &f) && f.Type == typ
}
