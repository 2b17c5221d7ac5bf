// Package emies is the ARC CE backend for EMI-ES, the SOAP interface A-REX 6
// serves at its base URL (POST https://host:port/arex, text/xml): activity
// creation with ADL (several per call), status, info, listing, cancel, wipe,
// restart, resource information (GLUE2), EMI-ES delegation, and the session
// directory over plain HTTP (uploads, downloads, the A-REX *logs). Requests
// are written and read with encoding/xml; no SOAP framework. It registers
// itself as flavour "emies".
package emies

import (
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

func init() {
	ce.Backends.Register(ce.RegInfo{Flavour: ce.EMIES, Label: "ARC CE (EMI-ES)", New: New, ParseJobID: ParseJobID, ValidLocalID: arexhttp.ValidJobID,
		Schemes: []string{"emies"}, URLScheme: "https", ArgScheme: "emies", DefaultPort: 443, DefaultPath: "/arex",
		Audiences: arexhttp.Audiences, FirstAudienceOnly: true, Scopes: arexhttp.Scopes,
		Delegations: []string{ce.DelegateX509}})
}

// maxPerCall is A-REX's limit of activities in one CreateActivity
// (MAX_ACTIVITIES in create_activity.cpp); the other vector operations take
// up to 10000 (get_activity_statuses.cpp, change_activity_status.cpp), and
// cesub sends batchSize at a time.
const (
	maxPerCall = 10
	batchSize  = 500
	// concurrency bounds parallel requests of one command to one CE.
	concurrency = 8
)

// Client talks EMI-ES to one A-REX.
type Client struct {
	addr     ce.Address
	endpoint string // https://host:port/arex: the SOAP endpoint and the base of session URLs
	h        *arexhttp.Client
	debugf   func(string, ...any)
}

// New builds a client for cfg.Address (flavour emies).
func New(cfg ce.Config) (ce.Backend, error) { return NewClient(cfg) }

// NewClient is New with the concrete type.
func NewClient(cfg ce.Config) (*Client, error) {
	h := arexhttp.New(cfg, "text/xml")
	return &Client{addr: cfg.Address, endpoint: h.Endpoint, h: h, debugf: h.Debugf}, nil
}

// JobID implements ce.Backend: the EMI-ES job id arcsub -T emies writes,
// https://host:port/arex/<id> (also the session directory URL).
func (c *Client) JobID(localID string) string { return c.endpoint + "/" + localID }

// ParseJobID splits an EMI-ES job id URL into CE endpoint and local id.
func ParseJobID(id string) (endpoint, local string, ok bool) {
	if !strings.HasPrefix(id, "https://") || strings.Contains(id, "/rest/") || strings.ContainsAny(id, "?#") {
		return "", "", false
	}
	i := strings.LastIndexByte(id, '/')
	endpoint, local = id[:i], id[i+1:]
	if arexhttp.ValidJobID(local) != nil || !strings.Contains(strings.TrimPrefix(endpoint, "https://"), "/") {
		return "", "", false
	}
	return endpoint, local, true
}

// sessionURL is the URL of a file in a job's session directory.
func (c *Client) sessionURL(id, p string) string {
	return c.endpoint + "/" + id + "/" + arexhttp.EscapePath(strings.TrimPrefix(p, "/"))
}

// logURL is the URL of one of A-REX's per-job control files (status,
// errors, failed, diag) under the *logs path of the same endpoint.
func (c *Client) logURL(id, name string) string { return c.endpoint + "/*logs/" + id + "/" + name }
