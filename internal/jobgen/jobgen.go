// Package jobgen writes large, real-shaped job descriptions for benchmarks
// and tests (never for the cesub binary): a multi-request xRSL file that
// cycles through the shapes of published descriptions (pilot wrappers with
// long argument lists and remote inputs, analysis jobs with many files,
// hello-world tests with comments, runtime environments), and an HTCondor
// submit file of pilot-factory shape with many queue statements and a
// `queue … from (…)` of many items. Every job differs (names, arguments,
// URLs carry its index), so nothing can be shared between jobs.
package jobgen

import (
	"bytes"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// xrslShapes are one job each; %N is replaced by the job's index.
var xrslShapes = []string{
	`&(executable="runpilot-wrapper.sh")(count=8)
 (walltime=2880)(cputime=23040)(memory=2000)
 (jobname="pilot-%N")
 (arguments="-q" "SITE_%N" "-r" "SITE_%N" "-j" "managed" "--pilot-user" "ATLAS" "-w" "generic")
 (inputfiles=("runpilot-wrapper.sh" "/cvmfs/sw/wrapper/latest/runpilot-wrapper.sh")("pilot.tar.gz" "http://pilot.example.org:25085/cache/pilot.tar.gz" "cache=check"))
 (stdout="pilot-%N.log")(join=yes)(gmlog="gmlog")
 (runtimeenvironment="APPS/HEP/ATLAS-SITE")
 (environment=("PANDA_JSID" "harvester-%N")("PILOT_NOKILL" "YES"))`,
	`&(executable=analyse.pl)
 (arguments="run%N.H0.ctl" "run%N.H1.ctl")
 (inputfiles=("analyse.pl" "")
   ("run%N.H0.ctl" "")
   ("run%N.H1.ctl" "")
   ("run%N.nwk" ""))
 (jobname="analysis-%N")
 (outputfiles=("run%N.H0.out" "")("run%N.H1.out" ""))
 (stdout="analyse.stdout")(stderr="analyse.stderr")(gmlog="analyse.log")`,
	`&(executable = "/bin/echo")
 (arguments = "Hello World %N")
 (stdout = "std.out")
 (join = "yes") (* stdout and stderr in one file *)
 (cputime = 1)
 (jobname = "hello-%N")`,
	`&(executable='/bin/cp')
 (arguments='in%N.html' 'out.html')
 (stdout='stdout')(stderr='stderr')
 (inputfiles=('in%N.html' 'http://www.example.org/data/in%N.html'))
 (outputfiles=('out.html' ''))
 (jobname='copy%N')`,
	`&(executable="simulate.sh")
 (inputFiles=("production.config" "")("job%N.py" ""))
 (stdout="stdout.log")(stderr="stderr.log")
 (outputFiles=("result-%N.root" "gsiftp://se.example.org/data/result-%N.root"))
 (jobName="Production %N")
 (wallTime="3 hours")(memory="2048")
 (runTimeEnvironment="APPS/EXP-2.1.0")`,
}

// XRSL returns `+(&…)(&…)…` of n jobs, each on its own lines.
func XRSL(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 400)
	b.WriteString("+\n")
	for i := 0; i < n; i++ {
		b.WriteString("(")
		b.WriteString(strings.ReplaceAll(xrslShapes[i%len(xrslShapes)], "%N", strconv.Itoa(i)))
		b.WriteString(")\n")
	}
	return b.Bytes()
}

// submitHead is a pilot factory's submit description (the shape of the
// harvester and glideinWMS files).
const submitHead = `universe = vanilla
executable = runpilot-wrapper.sh
initialdir = /var/lib/factory
log = logs/grid.$(Cluster).$(Process).log
should_transfer_files = YES
when_to_transfer_output = ON_EXIT
transfer_executable = True
request_cpus = 8
request_memory = 16000
request_disk = 20GB
environment = "PANDA_JSID=harvester-1 HARVESTER_ID=factory-1 GTAG=https://logs.example.org/$(Cluster)"
+harvesterID = "factory-1"
+maxWallTime = 2880
+ProjectName = "atlas"
periodic_remove = (JobStatus == 2 && (CurrentTime - EnteredCurrentStatus) > 604800)
`

// Submit returns a submit description of about n procs: groups of ten
// `queue 1` statements, each after its own arguments/output lines, then a
// `queue … from (…)` of the rest with one item per line.
func Submit(n int) []byte {
	var b bytes.Buffer
	b.WriteString(submitHead)
	single := n / 4
	for i := 0; i < single; i++ {
		s := strconv.Itoa(i)
		b.WriteString("arguments = -s SITE_" + s + " -q QUEUE_" + s + " -j managed --pilot-user ATLAS -w generic\n")
		b.WriteString("output = logs/grid.$(Cluster).$(Process)." + s + ".out\n")
		b.WriteString("error = logs/grid.$(Cluster).$(Process)." + s + ".err\n")
		b.WriteString("+harvesterWorkerID = \"" + s + "\"\n")
		b.WriteString("queue 1\n\n")
	}
	b.WriteString("arguments = -s $(site) -q $(queue) --input $(input)\n")
	b.WriteString("output = logs/$(site).$(Process).out\n")
	b.WriteString("transfer_input_files = $(input), config.json\n")
	b.WriteString("queue site, queue, input from (\n")
	for i := single; i < n; i++ {
		s := strconv.Itoa(i)
		b.WriteString("  SITE_" + s + ", QUEUE_" + s + ", /data/input_" + s + ".root\n")
	}
	b.WriteString(")\n")
	return b.Bytes()
}

// CPU is the user and system time this process has used so far: a
// benchmark's rate per CPU second (see PerCPUSecond) stays meaningful on a
// machine other work keeps busy, where its wall-clock MB/s does not.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PerCPUSecond is MB (10^6 bytes) per CPU second for n runs over size
// bytes that used cpu (garbage collection included: it runs on other
// threads of the process).
func PerCPUSecond(size int64, n int, cpu time.Duration) float64 {
	if cpu <= 0 {
		return 0
	}
	return float64(size) * float64(n) / 1e6 / cpu.Seconds()
}
