package arctools

import (
	"strings"

	"github.com/cesub/cesub/pkg/ce"
)

// restStates are ARC's general states of A-REX's REST states
// (JobStateARCREST in ARC's ARCREST plugin).
var restStates = map[string]string{
	"ACCEPTING": "Accepted", "ACCEPTED": "Accepted", "PREPARING": "Preparing", "PREPARED": "Preparing",
	"SUBMITTING": "Submitting", "QUEUING": "Queuing", "RUNNING": "Running", "HELD": "Hold",
	"EXITINGLRMS": "Running", "OTHER": "Running", "EXECUTED": "Running", "KILLING": "Running",
	"FINISHING": "Finishing", "FINISHED": "Finished", "FAILED": "Failed", "KILLED": "Killed", "WIPED": "Deleted",
	// the grid manager's own states, which cesub reads where it can (A-REX's
	// REST interface shows them as SUBMITTING, QUEUING or RUNNING, KILLING)
	"SUBMIT": "Submitting", "INLRMS": "Running", "CANCELING": "Running", "DELETED": "Deleted",
}

// generalStates are ARC's general states of cesub's states (where the CE's
// own state is not one of A-REX's REST states: EMI-ES).
var generalStates = map[ce.State]string{
	ce.StateAccepted: "Accepted", ce.StatePreparing: "Preparing", ce.StateQueuing: "Queuing",
	ce.StateRunning: "Running", ce.StateFinishing: "Finishing", ce.StateFinished: "Finished",
	ce.StateFailed: "Failed", ce.StateKilled: "Killed", ce.StateDeleted: "Deleted", ce.StateHeld: "Hold",
}

// generalState is the state arcstat shows for a job ("Other" when unknown).
func generalState(j *ce.Job) string {
	if j == nil {
		return "Undefined"
	}
	if j.State == ce.StateFailed || j.State == ce.StateKilled {
		return generalStates[j.State] // a FINISHED that failed, as A-REX's REST interface says FAILED
	}
	if j.Flavour == ce.ARC {
		if s, ok := restStates[strings.ToUpper(j.RawState)]; ok {
			return s
		}
	}
	if s, ok := generalStates[j.State]; ok {
		return s
	}
	return "Other"
}

// finished says whether ARC counts a general state as ended (the job can
// be fetched and cleaned).
func finished(state string) bool {
	switch state {
	case "Finished", "Failed", "Killed", "Deleted":
		return true
	}
	return false
}

// actionable splits jobs as ARC's JobSupervisor does before resuming or
// renewing: a job without a state, or Finished, Killed or Deleted, is
// passed over (counted, not acted on, not a failure); the others are acted on.
func actionable(list []jobState) (act []jobState) {
	for _, st := range list {
		switch {
		case st.job == nil, st.general == "Finished", st.general == "Killed", st.general == "Deleted":
		default:
			act = append(act, st)
		}
	}
	return act
}

// stateMatches is -s: the general or the CE's own state.
func stateMatches(states []string, general, specific string) bool {
	if len(states) == 0 {
		return true
	}
	for _, s := range states {
		if s == general || s == specific {
			return true
		}
	}
	return false
}
