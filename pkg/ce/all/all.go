// Package all links every CE flavour cesub ships into a build: importing
// it (blank) runs each flavour package's init, which registers the flavour
// with ce.Backends. The CLI imports it once (internal/cli/root.go); a new
// flavour is its folder under pkg/ce and one line here.
package all

import (
	_ "github.com/cesub/cesub/pkg/ce/arcrest"  // flavour arc: ARC CE REST
	_ "github.com/cesub/cesub/pkg/ce/emies"    // flavour emies: ARC CE EMI-ES
	_ "github.com/cesub/cesub/pkg/ce/htcondor" // flavour htcondor: HTCondor-CE over CEDAR
)
