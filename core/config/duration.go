package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Duration is a time.Duration written in files as a Go duration string
// ("60s", "1m30s", "500ms") or as an integer number of seconds (60). It
// always marshals as a string, to JSON and YAML alike.
type Duration time.Duration

// errDurationForm is the error for a value that is neither form.
var errDurationForm = errors.New(`must be a duration such as "30s" or "1m30s", or a whole number of seconds`)

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration does, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText formats d as a duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON formats d as a JSON string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// MarshalYAML formats d as a YAML string such as "1m30s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalJSON reads a duration string or an integer number of seconds.
// Like encoding/json itself, it leaves d alone for null.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("duration: %w", err)
		}
		v, err := parseDurationString(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = v
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("duration %s: %w", b, errDurationForm)
	}
	v, err := durationFromSeconds(n)
	if err != nil {
		return fmt.Errorf("duration %s: %w", b, err)
	}
	*d = v
	return nil
}

// UnmarshalYAML reads a duration string or an integer number of seconds. It
// has the signature github.com/goccy/go-yaml (and gopkg.in/yaml.v2) call.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var raw any
	if err := unmarshal(&raw); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	var (
		v   Duration
		err error
	)
	switch x := raw.(type) {
	case string:
		v, err = parseDurationString(x)
	case int:
		v, err = durationFromSeconds(int64(x))
	case int64:
		v, err = durationFromSeconds(x)
	case uint64:
		if x > math.MaxInt64 {
			err = errDurationRange
		} else {
			v, err = durationFromSeconds(int64(x))
		}
	default:
		err = errDurationForm
	}
	if err != nil {
		return fmt.Errorf("duration %v: %w", raw, err)
	}
	*d = v
	return nil
}

// errDurationRange is the error for a number of seconds too large for a
// time.Duration.
var errDurationRange = errors.New("is out of range")

// parseDurationString parses the string form, which time.ParseDuration
// defines. A bare number such as "60" is refused: in a string, the unit must
// be written.
func parseDurationString(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, errDurationForm
	}
	return Duration(v), nil
}

// durationFromSeconds converts the integer form.
func durationFromSeconds(n int64) (Duration, error) {
	const limit = math.MaxInt64 / int64(time.Second)
	if n > limit || n < -limit {
		return 0, errDurationRange
	}
	return Duration(time.Duration(n) * time.Second), nil
}
