// Package arcrest is the ARC CE (A-REX) REST backend: version discovery
// (1.1 when offered, else 1.0), submission of ADL (bulk in one request),
// upload of client-side inputs, status, kill, clean, restart, listing, session
// file access and recursive download. One keep-alive client per CE; since
// A-REX binds a token's identity to the TLS connection, a changed token gets
// a fresh connection. It registers itself as flavour "arc".
package arcrest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
	"github.com/cesub/cesub/pkg/token"
	"github.com/go-resty/resty/v2"
)

func init() {
	ce.Backends.Register(ce.RegInfo{Flavour: ce.ARC, Label: "ARC CE (REST)", New: New, ParseJobID: ParseJobID, ValidLocalID: arexhttp.ValidJobID,
		Schemes: []string{"https", "arcrest", "arc"}, URLScheme: "https", DefaultPort: 443, DefaultPath: "/arex", Default: true,
		Audiences: arexhttp.Audiences, FirstAudienceOnly: true, Scopes: arexhttp.Scopes,
		Delegations: []string{ce.DelegateX509, ce.DelegateToken}})
}

// Errors shared with the other A-REX backend.
type (
	// AuthError is a refusal by the CE (or a token that cannot be had): exit 4.
	AuthError = arexhttp.AuthError
	// HTTPError is an unexpected answer, with A-REX's reason phrase.
	HTTPError = arexhttp.HTTPError
)

// ErrNotFound marks a job or file the CE does not have.
var ErrNotFound = arexhttp.ErrNotFound

var (
	check      = arexhttp.Check
	isNotFound = arexhttp.IsNotFound
	escapePath = arexhttp.EscapePath
)

// Client talks to one A-REX.
type Client struct {
	addr     ce.Address
	endpoint string // https://host:port/arex
	h        *arexhttp.Client
	rc       *resty.Client
	src      token.Source
	debugf   func(string, ...any)
	minValid time.Duration
	descs    descCache // job descriptions read while looking for submissions

	mu      sync.Mutex
	version string // negotiated REST version
	census  census // how many jobs the CE holds for the identity
}

// New builds a client for cfg.Address (flavour arc).
func New(cfg ce.Config) (ce.Backend, error) { return NewClient(cfg) }

// NewClient is New with the concrete type.
func NewClient(cfg ce.Config) (*Client, error) {
	h := arexhttp.New(cfg, "application/json")
	return &Client{addr: cfg.Address, endpoint: h.Endpoint, h: h, rc: h.RC, src: cfg.Token, debugf: h.Debugf, minValid: time.Minute}, nil
}

// Version returns the REST version to use: 1.1 when offered, else 1.0.
func (c *Client) Version(ctx context.Context) (string, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != "" {
		return v, nil
	}
	_, body, err := c.h.Get(c.rc.R().SetContext(ctx), c.endpoint+"/rest", "version discovery", http.StatusOK)
	if err != nil {
		return "", err
	}
	vr, err := c.readVersions(body)
	if err != nil {
		return "", fmt.Errorf("version discovery: %s did not answer JSON: %w", c.endpoint+"/rest", err)
	}
	v = ""
	for _, x := range vr.Version {
		if x == "1.1" || x == "1.0" && v == "" {
			v = x
		}
	}
	if v == "" {
		return "", fmt.Errorf("version discovery: %s offers %v; cesub speaks 1.0 and 1.1", c.endpoint, []string(vr.Version))
	}
	c.SetVersion(v)
	return v, nil
}

// KnownVersion implements ce.VersionCache: the version negotiated (or
// given) so far, without a request.
func (c *Client) KnownVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// SetVersion records a known version (remembered per CE), saving a request.
func (c *Client) SetVersion(v string) {
	c.mu.Lock()
	c.version = v
	c.mu.Unlock()
}

func (c *Client) base(ctx context.Context) (string, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	return c.endpoint + "/rest/" + v, nil
}

// JobID implements ce.Backend: ARC's REST job id URL.
func (c *Client) JobID(localID string) string {
	v := c.KnownVersion()
	if v == "" {
		v = "1.0"
	}
	return c.endpoint + "/rest/" + v + "/jobs/" + localID
}

// ParseJobID splits an ARC REST job id URL into CE endpoint and local id.
func ParseJobID(id string) (endpoint, local string, ok bool) {
	i := strings.Index(id, "/rest/")
	if i < 0 || !strings.HasPrefix(id, "https://") {
		return "", "", false
	}
	rest := id[i+len("/rest/"):]
	_, after, found := strings.Cut(rest, "/jobs/")
	if !found || after == "" || strings.Contains(after, "/") {
		return "", "", false
	}
	return id[:i], after, true
}

// readVersions decodes and closes the version list under
// arexhttp.SmallJSONLimits.
func (c *Client) readVersions(body io.ReadCloser) (versionsResponse, error) {
	defer body.Close()
	var vr versionsResponse
	err := c.h.Msg("version list", arexhttp.SmallJSONLimits).DecodeJSON(body, &vr)
	return vr, err
}
