//go:build !race

package cedar

// raceDetector: see race_test.go.
const raceDetector = false
