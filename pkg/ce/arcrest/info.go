package arcrest

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
)

// glue2 is the part of A-REX's GLUE2 document cesub summarises.
type glue2 struct {
	Services []struct {
		Endpoints []struct {
			InterfaceName         string   `xml:"InterfaceName"`
			InterfaceVersion      []string `xml:"InterfaceVersion"`
			ImplementationName    string   `xml:"ImplementationName"`
			ImplementationVersion string   `xml:"ImplementationVersion"`
		} `xml:"ComputingEndpoint"`
		Shares []struct {
			Name          string `xml:"Name"`
			MappingQueue  string `xml:"MappingQueue"`
			MaxWallTime   string `xml:"MaxWallTime"`
			MaxCPUTime    string `xml:"MaxCPUTime"`
			MaxMainMemory string `xml:"MaxMainMemory"`
			RunningJobs   string `xml:"RunningJobs"`
			WaitingJobs   string `xml:"WaitingJobs"`
			ServingState  string `xml:"ServingState"`
		} `xml:"ComputingShare"`
		Managers []struct {
			AppEnvs []struct {
				AppName    string `xml:"AppName"`
				AppVersion string `xml:"AppVersion"`
			} `xml:"ApplicationEnvironments>ApplicationEnvironment"`
		} `xml:"ComputingManager"`
	} `xml:"Domains>AdminDomain>Services>ComputingService"`
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

// Info implements ce.Backend: a short summary of the GLUE2 document.
func (c *Client) Info(ctx context.Context) (*ce.Info, error) {
	base, err := c.base(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.rc.R().SetContext(ctx).SetHeader("Accept", "application/xml").SetQueryParam("schema", "glue2").Get(base + "/info")
	if err := check("info", resp, err, http.StatusOK); err != nil {
		return nil, err
	}
	var g glue2
	if err := xml.Unmarshal(resp.Body(), &g); err != nil {
		return nil, fmt.Errorf("info: cannot read the GLUE2 document: %w", err)
	}
	info := &ce.Info{Endpoint: c.endpoint}
	seen := map[string]bool{}
	for _, s := range g.Services {
		for _, e := range s.Endpoints {
			if e.InterfaceName == "org.nordugrid.arcrest" || info.Implementation == "" {
				info.Implementation, info.Version = e.ImplementationName, e.ImplementationVersion
			}
		}
		for _, sh := range s.Shares {
			q := sh.MappingQueue
			if q == "" {
				q = sh.Name
			}
			info.Queues = append(info.Queues, ce.Queue{Name: q, MaxWallTime: atoi64(sh.MaxWallTime), MaxCPUTime: atoi64(sh.MaxCPUTime),
				MaxMemoryMB: atoi64(sh.MaxMainMemory), RunningJobs: int(atoi64(sh.RunningJobs)), WaitingJobs: int(atoi64(sh.WaitingJobs)),
				ServingState: sh.ServingState})
		}
		for _, m := range s.Managers {
			for _, a := range m.AppEnvs {
				name := a.AppName
				if a.AppVersion != "" {
					name += "-" + a.AppVersion
				}
				if name != "" && !seen[name] {
					seen[name] = true
					info.RuntimeEnvironments = append(info.RuntimeEnvironments, name)
				}
			}
		}
	}
	sort.Strings(info.RuntimeEnvironments)
	if v, err := c.Version(ctx); err == nil {
		info.APIVersions = []string{v}
	}
	return info, nil
}
