package arcrest

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/arexhttp"
)

// glue2 is A-REX's REST GLUE2 document.
type glue2 struct {
	Services []arexhttp.GLUE2Service `xml:"Domains>AdminDomain>Services>ComputingService"`
}

// Info implements ce.Backend: a short summary of the GLUE2 document.
func (c *Client) Info(ctx context.Context) (*ce.Info, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	req := c.rc.R().SetContext(ctx).SetHeader("Accept", "application/xml").SetQueryParam("schema", "glue2")
	var g glue2
	_, err = c.h.Decode(req, http.MethodGet, base+"/info", "info", func(r io.Reader) error {
		g = glue2{}
		if err := c.h.Msg("GLUE2 document", arexhttp.InfoLimits).DecodeXML(r, &g); err != nil {
			return fmt.Errorf("info: cannot read the GLUE2 document: %w", err)
		}
		return nil
	}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	info := arexhttp.SummariseGLUE2(c.endpoint, g.Services, "org.nordugrid.arcrest")
	if v, err := c.Version(ctx); err == nil {
		info.APIVersions = []string{v}
	}
	return info, nil
}
