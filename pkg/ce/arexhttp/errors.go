package arexhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cesub/cesub/pkg/ce"
	"github.com/go-resty/resty/v2"
)

// ErrNotFound marks a job or file the CE does not have (ce.ErrNotFound).
var ErrNotFound = ce.ErrNotFound

// AuthError is a refusal by the CE (or a token that cannot be had): exit 4.
type AuthError struct {
	Op   string
	Err  error
	Hint string // what the refusal may mean, shown after the error (optional)
}

func (e *AuthError) Error() string {
	if e.Hint != "" {
		return e.Op + ": " + e.Err.Error() + " (" + e.Hint + ")"
	}
	return e.Op + ": " + e.Err.Error()
}

// Refusal is the error without its hint (ping shows the hint apart).
func (e *AuthError) Refusal() string { return e.Op + ": " + e.Err.Error() }
func (e *AuthError) Unwrap() error   { return e.Err }

// AuthFailure marks the error as an authentication/authorization failure.
func (e *AuthError) AuthFailure() bool { return true }

// HTTPError is an unexpected answer, with A-REX's reason phrase.
type HTTPError struct {
	Op     string
	URL    string
	Code   int
	Status string
	Body   string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: %s answered %s", e.Op, e.URL, e.Status)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// IsNotFound reports an HTTP 404 answer.
func IsNotFound(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Code == http.StatusNotFound
}

// Check turns a transport error or a status outside ok into an error.
func Check(op string, resp *resty.Response, err error, ok ...int) error {
	if err != nil {
		var ae *AuthError
		if errors.As(err, &ae) {
			return err
		}
		if errors.Is(err, resty.ErrResponseBodyTooLarge) {
			return fmt.Errorf("%s: the answer is larger than %d MiB: refused, not read (a broken CE, or something in between): %w", op, MaxAnswer>>20, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return answer{URL: resp.Request.URL, Code: resp.StatusCode(), Status: resp.Status(),
		Body: resp.Body(), ContentType: resp.Header().Get("Content-Type")}.check(op, ok...)
}

// CheckBody is Check for an answer whose body was read apart (Stream).
func CheckBody(op string, resp *resty.Response, body []byte, ok ...int) error {
	return answer{URL: resp.Request.URL, Code: resp.StatusCode(), Status: resp.Status(),
		Body: body, ContentType: resp.Header().Get("Content-Type")}.check(op, ok...)
}

// answer is what Check needs of an HTTP response, from resty or net/http.
type answer struct {
	URL         string
	Code        int
	Status      string
	Body        []byte
	ContentType string
}

// check turns a status outside ok into an error.
func (a answer) check(op string, ok ...int) error {
	for _, code := range ok {
		if a.Code == code {
			return nil
		}
	}
	body := strings.TrimSpace(string(a.Body))
	url := ShortURL(a.URL)
	if strings.HasPrefix(body, "<") && strings.Contains(strings.ToLower(a.ContentType), "html") {
		body = "(an HTML page)"
	}
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	he := &HTTPError{Op: op, URL: url, Code: a.Code, Status: a.Status, Body: body}
	// A-REX 6 (403) and ARC 7 (500) answer a token they could not validate or map with
	// "User can't be assigned configuration".
	if (a.Code == http.StatusForbidden || a.Code == http.StatusInternalServerError) && Unassigned(a.Status+body) {
		return &AuthError{Op: op, Err: fmt.Errorf("%s answered %s", url, a.Status), Hint: UnassignedHint("", HostOf(url))}
	}
	if a.Code == http.StatusForbidden && strings.Contains(body, "scopes do not match") {
		return &AuthError{Op: op, Err: fmt.Errorf("%s answered %s: %s (the token lacks the scope this operation needs)", url, a.Status, body)}
	}
	if a.Code == http.StatusForbidden || a.Code == http.StatusUnauthorized {
		return &AuthError{Op: op, Err: fmt.Errorf("%s answered %s (the CE refused this identity; check `cesub token check --ce %s`)", url, a.Status, HostOf(url))}
	}
	return he
}

// ShortURL drops a long query string from a URL shown in a message.
func ShortURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 && len(u)-i > 40 {
		return u[:i] + "?…"
	}
	return u
}

// HostOf is the host:port of an https URL.
func HostOf(u string) string {
	rest := strings.TrimPrefix(u, "https://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// Unassigned reports A-REX's answer to an identity it could not validate or
// map to any authgroup: "User can't be assigned configuration".
func Unassigned(answer string) bool {
	return strings.Contains(answer, "can't be assigned configuration")
}

// UnassignedHint explains that answer: A-REX says the same whether it could
// not fetch the issuer's keys, does not trust the issuer, or found no
// authgroup rule matching the token. issuer is the token's iss claim
// (empty if not known); hostPort names the CE.
func UnassignedHint(issuer, hostPort string) string {
	if hostPort == "" {
		hostPort = "HOST:PORT"
	}
	who := "the token's issuer"
	if issuer != "" {
		who += " (" + issuer + ")"
	}
	return "the CE could not validate the token or map it to a user: " + who + " may be unreachable from the CE " +
		"(it fetches the issuer's keys for every request), an issuer the CE does not trust, or no authgroup rule of the CE " +
		"matches the token's issuer, audience, scope and groups; check `cesub token check --ce " + hostPort + "` and that " +
		"the CE's host can reach the issuer"
}
