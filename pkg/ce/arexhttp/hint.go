package arexhttp

import (
	"errors"

	"github.com/cesub/cesub/pkg/ce"
)

// Unanswered is a ping that got no answer at all: an authentication
// failure (no credential to send) is returned as the error, anything else
// is reported in r, with a hint.
func Unanswered(r *ce.PingResult, err error, hostPort string) (*ce.PingResult, error) {
	var ae *AuthError
	if errors.As(err, &ae) {
		return nil, err
	}
	r.Problem, r.Hint = err.Error(), ce.ConnectHint(err, hostPort)
	return r, nil
}
