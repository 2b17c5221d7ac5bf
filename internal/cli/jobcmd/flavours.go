package jobcmd

// The CE flavours this build speaks; each registers itself with ce.Backends.
// A new flavour is one folder under pkg/ce and one line here.
import (
	_ "github.com/cesub/cesub/pkg/ce/arcrest"  // flavour arc: ARC CE REST
	_ "github.com/cesub/cesub/pkg/ce/emies"    // flavour emies: ARC CE EMI-ES
	_ "github.com/cesub/cesub/pkg/ce/htcondor" // flavour htcondor: HTCondor-CE over CEDAR
)
