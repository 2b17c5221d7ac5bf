package arctools

import (
	"context"
	"fmt"
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
	fmt.Fprintf(w, "Computing service:\n  Name: %s\n  Serving state: %s\n", addr.Host, oneLine(state))
	fmt.Fprintf(w, "\n  Endpoint Information:\n    URL: %s\n    Interface: %s\n", info.Endpoint, interfaceOf(addr.Flavour))
	if len(info.APIVersions) > 0 {
		fmt.Fprintf(w, "    Interface versions:\n      %s\n", strings.Join(info.APIVersions, "\n      "))
	}
	if info.Implementation != "" {
		fmt.Fprintf(w, "    Implementation name: %s\n", oneLine(info.Implementation))
	}
	for _, q := range info.Queues {
		fmt.Fprintf(w, "\n  Queue Information:\n    Mapping queue: %s\n    Running jobs: %d\n    Waiting jobs: %d\n", oneLine(q.Name), q.RunningJobs, q.WaitingJobs)
		if q.MaxWallTime > 0 {
			fmt.Fprintf(w, "    Maximum wall-time: %d seconds\n", q.MaxWallTime)
		}
	}
	if len(info.RuntimeEnvironments) > 0 {
		fmt.Fprintf(w, "\n  Application Environments:\n    %s\n", strings.Join(info.RuntimeEnvironments, "\n    "))
	}
	return true
}
