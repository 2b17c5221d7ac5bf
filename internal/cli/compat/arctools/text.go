package arctools

import (
	"encoding/json"

	"github.com/cesub/cesub/internal/cli/cmdutil"
)

// oneLine is a CE's text made one safe line.
func oneLine(s string) string { return cmdutil.OneLine(s) }

// jsonString is s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
