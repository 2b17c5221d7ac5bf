package arexhttp

import (
	"sort"
	"strconv"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
)

// GLUE2Service is the part of a GLUE2 ComputingService cesub summarises
// (the same element in A-REX's REST info and EMI-ES GetResourceInfo).
type GLUE2Service struct {
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
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

// SummariseGLUE2 makes the CE summary from GLUE2 services; the
// implementation is taken from the endpoint with interface iface.
func SummariseGLUE2(endpoint string, services []GLUE2Service, iface string) *ce.Info {
	info := &ce.Info{Endpoint: endpoint}
	seen := map[string]bool{}
	for _, s := range services {
		for _, e := range s.Endpoints {
			if e.InterfaceName == iface || info.Implementation == "" {
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
	return info
}

// Audiences are the token audiences an A-REX accepts by default (REST and
// EMI-ES alike), preferred first: https://host:port (DIRAC's and ARC's
// convention), and the port-less form on 443.
func Audiences(a ce.Address) []string {
	out := []string{"https://" + a.HostPort()}
	if a.Port == 443 {
		out = append(out, "https://"+a.Host)
	}
	return out
}

// Scopes are what each operation needs from a WLCG token on ARC 7 with
// tokenscopes=wlcg: jobcreate is compute.create, jobinfo compute.read,
// jobcancel compute.cancel, datawrite (input upload) compute.modify.
var Scopes = map[string][]string{
	"submit": {"compute.create"},
	"status": {"compute.read"},
	"cancel": {"compute.cancel"},
	"upload": {"compute.modify"},
}
