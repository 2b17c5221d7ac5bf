package cmdutil

import (
	"fmt"
	"io"
	"os"
)

// Stdin is the name that reads a job description from standard input
// (`submit -f -`, `submit -`, `describe -`).
const Stdin = "-"

// maxStdinDescription bounds a description read from stdin.
const maxStdinDescription = 64 << 20

// ReadDescription reads the job description name: the file, or stdin
// (in) for "-". It returns the text and the name to show in messages
// ("<stdin>" for stdin, so that the format is told by the content).
func ReadDescription(in io.Reader, name string) ([]byte, string, error) {
	if name != Stdin {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, name, fmt.Errorf("read description: %w", err)
		}
		return src, name, nil
	}
	src, err := io.ReadAll(io.LimitReader(in, maxStdinDescription+1))
	if err != nil {
		return nil, "<stdin>", fmt.Errorf("read description from stdin: %w", err)
	}
	if len(src) > maxStdinDescription {
		return nil, "<stdin>", fmt.Errorf("read description from stdin: more than %d MiB", maxStdinDescription>>20)
	}
	return src, "<stdin>", nil
}
