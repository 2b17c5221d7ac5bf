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
		HealthState           string   `xml:"HealthState"`
	} `xml:"ComputingEndpoint"`
	Shares []struct {
		Name             string  `xml:"Name"`
		MappingQueue     string  `xml:"MappingQueue"`
		MaxWallTime      string  `xml:"MaxWallTime"`
		MaxCPUTime       string  `xml:"MaxCPUTime"`
		MaxMainMemory    string  `xml:"MaxMainMemory"`
		MaxVirtualMemory string  `xml:"MaxVirtualMemory"`
		RunningJobs      *string `xml:"RunningJobs"`
		WaitingJobs      *string `xml:"WaitingJobs"`
		FreeSlots        *string `xml:"FreeSlots"`
		ServingState     string  `xml:"ServingState"`
	} `xml:"ComputingShare"`
	Managers []struct {
		TotalSlots *string `xml:"TotalSlots"`
		ExecEnvs   []struct {
			MainMemorySize string `xml:"MainMemorySize"`
		} `xml:"ExecutionEnvironments>ExecutionEnvironment"`
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

// count reads a published count: a missing or unreadable element (or
// ARC's negative "undefined") is not published.
func count(s *string, bit ce.Counts, q *ce.Queue) int {
	if s == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(*s))
	if err != nil || n < 0 {
		return 0
	}
	q.Published |= bit
	return n
}

// SummariseGLUE2 makes the CE summary from GLUE2 services; the
// implementation is taken from the endpoint with interface iface.
func SummariseGLUE2(endpoint string, services []GLUE2Service, iface string) *ce.Info {
	info := &ce.Info{Endpoint: endpoint, GLUE2: true}
	seen := map[string]bool{}
	for _, s := range services {
		for _, e := range s.Endpoints {
			if e.InterfaceName == iface || info.Implementation == "" {
				info.Implementation, info.Version = e.ImplementationName, e.ImplementationVersion
			}
			if e.InterfaceName == iface {
				info.HealthState = strings.TrimSpace(e.HealthState)
			}
		}
		total, totalKnown := managerSlots(s)
		for _, sh := range s.Shares {
			q := ce.Queue{Name: sh.MappingQueue, MaxWallTime: atoi64(sh.MaxWallTime), MaxCPUTime: atoi64(sh.MaxCPUTime),
				MaxMemoryMB: atoi64(sh.MaxMainMemory), MaxVirtualMemoryMB: atoi64(sh.MaxVirtualMemory), ServingState: sh.ServingState}
			if q.Name == "" {
				q.Name = sh.Name
			}
			q.RunningJobs = count(sh.RunningJobs, ce.CountRunning, &q)
			q.WaitingJobs = count(sh.WaitingJobs, ce.CountWaiting, &q)
			q.FreeSlots = count(sh.FreeSlots, ce.CountFreeSlots, &q)
			if totalKnown {
				q.TotalSlots, q.Published = total, q.Published|ce.CountTotalSlots
			}
			info.Queues = append(info.Queues, q)
		}
		for _, m := range s.Managers {
			for _, ee := range m.ExecEnvs {
				if mem := atoi64(ee.MainMemorySize); mem > 0 && info.MainMemoryMB == 0 {
					info.MainMemoryMB = mem
				}
			}
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

// managerSlots is the service's TotalSlots (its first ComputingManager's,
// as ARC's client reads it).
func managerSlots(s GLUE2Service) (int, bool) {
	if len(s.Managers) == 0 {
		return 0, false
	}
	var q ce.Queue
	n := count(s.Managers[0].TotalSlots, ce.CountTotalSlots, &q)
	return n, q.Published.Has(ce.CountTotalSlots)
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
