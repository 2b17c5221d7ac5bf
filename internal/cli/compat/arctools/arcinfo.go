package arctools

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
)

func runInfo(ctx context.Context, s *session, args []string) int {
	var c common
	var ces []string
	var long bool
	fs := newFlags("")
	fs.StringArrayVarP(&ces, "computing-element", "C", nil, "the computing element to query")
	fs.StringArrayVarP(&ces, "cluster", "c", nil, "the computing element to query (as -C)")
	fs.BoolVarP(&long, "long", "l", false, "long format (more information)")
	fs.StringP("info-endpoint-type", "Q", "", "information interface (cesub asks the CE's own)")
	c.addCommon(fs)
	if code, ok := s.parse(fs, &c, args); !ok {
		return code
	}
	if len(ces) == 0 {
		s.errorf("No computing element given (-C): cesub does not read the registry or the client.conf services")
		return 1
	}
	if err := s.open(ctx); err != nil {
		s.errorf("%v", err)
		return 1
	}
	defer s.close()
	code := 0
	for _, arg := range ces {
		if !s.infoOne(ctx, arg, long) {
			code = 1
		}
	}
	return code
}

// infoOne prints one CE as arcinfo does (the fields cesub reads).
func (s *session) infoOne(ctx context.Context, arg string, long bool) bool {
	addr, err := ce.ParseAddress(arg, "")
	if err != nil {
		s.errorf("%v", err)
		return false
	}
	cctx, cancel := s.f.Deadline(ctx, 3)
	defer cancel()
	b, err := s.backend(cctx, addr)
	var info *ce.Info
	if err == nil {
		info, err = b.Info(cctx)
	}
	if err != nil {
		s.errorf("Failed to obtain information from %s: %v", arg, err)
		return false
	}
	state := "production"
	for _, q := range info.Queues {
		if q.ServingState != "" {
			state = q.ServingState
			break
		}
	}
	w := s.f.IO.Out
	if !long {
		fmt.Fprintf(w, "Computing service: %s (%s)\n", addr.Host, oneLine(state))
		return true
	}
	printLong(w, addr.Host, interfaceOf(addr.Flavour), state, info)
	return true
}

// printLong prints arcinfo -l's blocks under ARC's labels (its
// ExecutionTarget printer): the service, its endpoint with the health and
// serving states, each share (queue) and the runtime environments. Only
// what cesub reads is printed; ARC's client prints the whole GLUE2 tree.
func printLong(w io.Writer, host, iface, state string, info *ce.Info) {
	fmt.Fprintf(w, "Computing service:\n  Name: %s\n", host)
	fmt.Fprintf(w, "\n  Endpoint Information:\n    URL: %s\n    Interface: %s\n", info.Endpoint, iface)
	if len(info.APIVersions) > 0 {
		fmt.Fprintf(w, "    Interface versions:\n      %s\n", strings.Join(info.APIVersions, "\n      "))
	}
	if impl := info.Implementation; impl != "" {
		if info.Version != "" { // ARC's Software name: NAME-VERSION
			impl += "-" + info.Version
		}
		fmt.Fprintf(w, "    Implementation name: %s\n", oneLine(impl))
	}
	if info.HealthState != "" {
		fmt.Fprintf(w, "    Health state: %s\n", oneLine(info.HealthState))
	}
	fmt.Fprintf(w, "    Serving state: %s\n", oneLine(state))
	for _, q := range info.Queues {
		fmt.Fprintf(w, "\n  Share Information:\n    Name: %s\n    Mapping queue: %s\n", oneLine(q.Name), oneLine(q.Name))
		if q.MaxWallTime > 0 {
			fmt.Fprintf(w, "    Max wall-time: %s\n", period(q.MaxWallTime))
		}
		if q.MaxCPUTime > 0 {
			fmt.Fprintf(w, "    Max CPU time: %s\n", period(q.MaxCPUTime))
		}
		if q.Published.Has(ce.CountRunning) {
			fmt.Fprintf(w, "    Running jobs: %d\n", q.RunningJobs)
		}
		if q.Published.Has(ce.CountWaiting) {
			fmt.Fprintf(w, "    Waiting jobs: %d\n", q.WaitingJobs)
		}
		if q.Published.Has(ce.CountFreeSlots) {
			fmt.Fprintf(w, "    Free slots: %d\n", q.FreeSlots)
		}
	}
	if len(info.RuntimeEnvironments) > 0 {
		fmt.Fprintf(w, "\n  Application Environments:\n    %s\n", strings.Join(info.RuntimeEnvironments, "\n    "))
	}
}

// period is a duration as ARC's Period::istr writes it: hours, minutes
// and seconds, each only when not zero ("1 hour 30 minutes").
func period(sec int64) string {
	var parts []string
	unit := func(n int64, one, many string) {
		if n == 1 {
			parts = append(parts, "1 "+one)
		} else {
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	rest := sec
	if rest >= 3600 {
		unit(rest/3600, "hour", "hours")
		rest %= 3600
	}
	if rest >= 60 {
		unit(rest/60, "minute", "minutes")
		rest %= 60
	}
	if rest >= 1 || sec == 0 {
		unit(rest, "second", "seconds")
	}
	return strings.Join(parts, " ")
}
