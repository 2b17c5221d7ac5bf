package arcrest

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"

	"github.com/cesub/cesub/pkg/budget"
)

// A-REX renders JSON mechanically from XML: one element is an object and
// several an array (ARC 7 forces arrays), an empty list is a 0-byte body, and
// every value is a string. These types absorb that in one place.

// oneOrMany decodes an object or an array of objects.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*o = nil
		return nil
	}
	if b[0] == '[' {
		var v []T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*o = v
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = []T{v}
	return nil
}

// numString is a number A-REX sends as a string (or, defensively, a number).
type numString int

func (n *numString) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(bytes.TrimSpace(b), `"`))
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return err
	}
	*n = numString(v)
	return nil
}

// jobEntry is one element of a jobs response.
type jobEntry struct {
	StatusCode   numString `json:"status-code"`
	Reason       string    `json:"reason"`
	ID           string    `json:"id"`
	State        string    `json:"state"`
	DelegationID string    `json:"delegation_id"`

	desc string // the job's description, when findMarked read it
}

type jobsResponse struct {
	Job oneOrMany[jobEntry] `json:"job"`
}

// decodeJobs reads a jobs response as a stream under m's limits
// (arexhttp.JobListLimits); an empty body is an empty list.
func decodeJobs(m budget.Msg, body io.Reader) ([]jobEntry, error) {
	var r jobsResponse
	if err := decodeJSON(m, body, &r); err != nil {
		return nil, err
	}
	return r.Job, nil
}

// decodeJSON decodes an answer under m's limits; an empty body leaves v
// as it is (A-REX's empty list).
func decodeJSON(m budget.Msg, body io.Reader, v any) error {
	if err := m.DecodeJSON(body, v); err != nil && err != io.EOF {
		return err
	}
	return nil
}

type versionsResponse struct {
	Version oneOrMany[string] `json:"version"`
}

type idRequest struct {
	Job []idEntry `json:"job"`
}

type idEntry struct {
	ID string `json:"id"`
}
