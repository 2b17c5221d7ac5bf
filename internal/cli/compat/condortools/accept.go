package condortools

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cesub/cesub/pkg/jobdesc"
)

// Acceptance as condor_submit 25 decides it where cesub's reading of submit
// files alone would differ: SUBMIT_SKIP_FILECHECK turns the checks of the
// submitting machine's files off, and credential requests need a credd,
// which a remote submission has none of.

// skipFileCheck: _CONDOR_SUBMIT_SKIP_FILECHECK in the environment, or
// SUBMIT_SKIP_FILECHECK set on the command line or in the file, true.
func skipFileCheck(getenv func(string) string, text string, vars map[string]string) bool {
	if truthy(getenv("_CONDOR_SUBMIT_SKIP_FILECHECK")) {
		return true
	}
	for k, v := range vars {
		if strings.EqualFold(k, "SUBMIT_SKIP_FILECHECK") && truthy(v) {
			return true
		}
	}
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "SUBMIT_SKIP_FILECHECK") && truthy(v) {
			return true
		}
	}
	return false
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "yes", "y", "1":
		return true
	}
	return false
}

// refuseRemote refuses what a remote submission cannot serve: OAuth
// credentials (use_oauth_services, with its <service>_oauth_* settings)
// are fetched by the submitting machine's credd, which cesub has none of.
// A <service>_oauth_* setting without use_oauth_services asks for nothing,
// and condor_submit accepts it.
func refuseRemote(text string, vars map[string]string) error {
	for k, v := range vars {
		if strings.EqualFold(k, "use_oauth_services") && strings.TrimSpace(v) != "" {
			return oauthRefused(k)
		}
	}
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "use_oauth_services") && strings.TrimSpace(v) != "" {
			return oauthRefused(strings.TrimSpace(k))
		}
	}
	return nil
}

func oauthRefused(k string) error {
	return fmt.Errorf("%s: the job requests OAuth credentials, which only the submitting machine's credd can provide; cesub submits remotely and has no credd (send a token with the job instead)", k)
}

// matchTimeExecutable: an executable named with $$(…) is filled in at
// match time, so condor_submit cannot check it (nor the other files).
func matchTimeExecutable(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "executable") && strings.Contains(v, "$$(") {
			return true
		}
	}
	return false
}

// checkExecutables is the check SUBMIT_SKIP_FILECHECK leaves on: a
// transferred executable must exist on the submitting machine (unless
// $$(…) names it).
func checkExecutables(js []jobdesc.Job, dir string) error {
	for _, j := range js {
		for _, in := range j.Inputs {
			if !in.IsExecutable || len(in.Sources) > 0 || strings.Contains(in.Name, "$$(") {
				continue
			}
			p := in.LocalPath
			if p == "" {
				p = in.Name
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				return fmt.Errorf("Executable file %s does not exist", in.Name)
			}
		}
	}
	return nil
}
