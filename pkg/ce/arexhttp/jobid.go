package arexhttp

import "fmt"

// ValidJobID checks the syntax of an A-REX job id (REST and EMI-ES alike):
// letters and digits only, as A-REX makes them (54 characters today; older
// A-REX used digits).
func ValidJobID(id string) error {
	if id == "" {
		return fmt.Errorf("an A-REX job id is letters and digits, this one is empty")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return fmt.Errorf("an A-REX job id is letters and digits, this one has %q", c)
		}
	}
	return nil
}
