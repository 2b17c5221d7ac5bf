//go:build race

package cedar

// raceDetector: this test binary runs under the race detector, which
// multiplies the memory a process takes (its shadow memory), so peak RSS
// figures are logged but not held against the budget.
const raceDetector = true
