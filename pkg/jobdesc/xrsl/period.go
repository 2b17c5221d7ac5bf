package xrsl

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParsePeriod reads an xRSL time: a plain number in unit base (minutes in the
// user dialect), numbers with w d h m s suffixes ("1h 30m", "2d"; a trailing
// bare number counts in the unit below the last suffix, as in ARC), or an
// ISO 8601 duration ("PT1H30M", "P2D").
func ParsePeriod(s string, base time.Duration) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty time")
	}
	if t[0] == 'P' {
		return parseISO(t)
	}
	var total time.Duration
	num := ""
	unit := base
	units := map[byte]struct{ d, next time.Duration }{
		'w': {7 * 24 * time.Hour, 24 * time.Hour}, 'd': {24 * time.Hour, time.Hour},
		'h': {time.Hour, time.Minute}, 'm': {time.Minute, time.Second}, 's': {time.Second, time.Second},
	}
	bad := func() error {
		return fmt.Errorf("time %q does not parse: want minutes, units (\"1h 30m\", \"2 weeks\") or ISO 8601 (\"PT1H30M\")", s)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			num += string(c)
		case c == ' ' || c == '\t' || c == ',':
			continue
		case num == "":
			return 0, bad()
		default:
			// as ARC: the first letter after a number names the unit ("2 weeks",
			// "1 hour, 30 minutes"); the rest of the word is skipped
			u, ok := units[c|0x20]
			if !ok {
				return 0, bad()
			}
			n, _ := strconv.ParseInt(num, 10, 64)
			total += time.Duration(n) * u.d
			num = ""
			unit = u.next
			for i+1 < len(t) && (t[i+1]|0x20 >= 'a' && t[i+1]|0x20 <= 'z') {
				i++
			}
		}
	}
	if num != "" {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("time %q: %v", s, err)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

func parseISO(s string) (time.Duration, error) {
	bad := fmt.Errorf("ISO 8601 duration %q does not parse", s)
	var total time.Duration
	inTime := false
	num := ""
	parts := 0
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 'T':
			if num != "" {
				return 0, bad
			}
			inTime = true
		case c >= '0' && c <= '9':
			num += string(c)
		default:
			if num == "" {
				return 0, bad
			}
			n, _ := strconv.ParseInt(num, 10, 64)
			num = ""
			var u time.Duration
			switch {
			case c == 'Y' && !inTime:
				u = 365 * 24 * time.Hour
			case c == 'M' && !inTime:
				u = 30 * 24 * time.Hour
			case c == 'W' && !inTime:
				u = 7 * 24 * time.Hour
			case c == 'D' && !inTime:
				u = 24 * time.Hour
			case c == 'H' && inTime:
				u = time.Hour
			case c == 'M' && inTime:
				u = time.Minute
			case c == 'S' && inTime:
				u = time.Second
			default:
				return 0, bad
			}
			total += time.Duration(n) * u
			parts++
		}
	}
	if num != "" || parts == 0 {
		return 0, bad
	}
	return total, nil
}

// FormatPeriod writes a duration as xRSL minutes when whole, else with units.
func FormatPeriod(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10)
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
