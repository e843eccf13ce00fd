package config

import (
	"errors"
	"math"
	"slices"
	"strings"
)

// Keys known in each mapping of the schema, in the order the documentation
// lists them.
var (
	configKeys = []string{"data_dir", "log_level", "limits", "listen", "roots", "policy", "audit", "engine", "servers"}
	auditKeys  = []string{"enabled", "dir", "keys_dir", "max_segment_bytes", "max_segment_age", "checkpoint_every", "checkpoint_interval", "anchors", "retention"}
	policyKeys = []string{"paths", "data", "mode", "builtin", "timeout"}
	limitsKeys = []string{"max_message_bytes"}
	listenKeys = []string{"http", "allowed_hosts", "allowed_origins", "insecure_allow_remote"}
	serverKeys = []string{"command", "args", "env", "cwd", "url", "headers", "transport", "type", "prefix", "timeout", "disabled", "tools"}
	engineKeys = []string{"enabled"}
	toolKeys   = []string{"effect", "path_args", "command_args", "sql_args"}
)

// typeAliases maps the values of a server's "type" key, Claude's name for
// "transport", to transports.
var typeAliases = map[string]string{
	"stdio":           TransportStdio,
	"http":            TransportStreamableHTTP,
	"streamable-http": TransportStreamableHTTP,
	"sse":             TransportSSE,
}

// decoder walks a document against the schema, filling a Config and
// collecting every problem on the way.
type decoder struct {
	probs *problems
	// at records where each key path is in the file, for problems found
	// after decoding.
	at map[string]pos
	// names are the server names in the order of the file.
	names []string
	// types are the transports named by servers' "type" keys.
	types map[string]string
}

// newDecoder returns a decoder that reports to ps.
func newDecoder(ps *problems) *decoder {
	return &decoder{probs: ps, at: map[string]pos{}, types: map[string]string{}}
}

// config decodes the document root into cfg, which holds the defaults.
func (d *decoder) config(root *node, cfg *Config) {
	if root.kind != kindMap && root.kind != kindNull && root.kind != kindBad {
		d.probs.add("", root.at, "the configuration must be a mapping of keys to values, not %s", root.kind.describe())
		return
	}
	d.mapping(root, "", configKeys, func(key string, v *node, path string) {
		switch key {
		case "data_dir":
			d.str(v, path, &cfg.DataDir)
		case "log_level":
			d.str(v, path, &cfg.LogLevel)
		case "limits":
			d.mapping(v, path, limitsKeys, func(key string, v *node, path string) {
				d.integer(v, path, &cfg.Limits.MaxMessageBytes)
			})
		case "listen":
			d.mapping(v, path, listenKeys, func(key string, v *node, path string) {
				switch key {
				case "http":
					d.str(v, path, &cfg.Listen.HTTP)
				case "allowed_hosts":
					d.strList(v, path, &cfg.Listen.AllowedHosts)
				case "allowed_origins":
					d.strList(v, path, &cfg.Listen.AllowedOrigins)
				case "insecure_allow_remote":
					d.boolean(v, path, &cfg.Listen.InsecureAllowRemote)
				}
			})
		case "roots":
			d.strList(v, path, &cfg.Roots)
		case "policy":
			d.mapping(v, path, policyKeys, func(key string, v *node, path string) {
				switch key {
				case "paths":
					d.strList(v, path, &cfg.Policy.Paths)
				case "data":
					d.strList(v, path, &cfg.Policy.Data)
				case "mode":
					d.str(v, path, &cfg.Policy.Mode)
				case "builtin":
					d.boolean(v, path, &cfg.Policy.Builtin)
				case "timeout":
					d.duration(v, path, &cfg.Policy.Timeout)
				}
			})
		case "audit":
			d.mapping(v, path, auditKeys, func(key string, v *node, path string) {
				switch key {
				case "enabled":
					d.boolean(v, path, &cfg.Audit.Enabled)
				case "dir":
					d.str(v, path, &cfg.Audit.Dir)
				case "keys_dir":
					d.str(v, path, &cfg.Audit.KeysDir)
				case "max_segment_bytes":
					d.integer(v, path, &cfg.Audit.MaxSegmentBytes)
				case "max_segment_age":
					d.duration(v, path, &cfg.Audit.MaxSegmentAge)
				case "checkpoint_every":
					d.integer(v, path, &cfg.Audit.CheckpointEvery)
				case "checkpoint_interval":
					d.duration(v, path, &cfg.Audit.CheckpointInterval)
				case "anchors":
					d.strList(v, path, &cfg.Audit.Anchors)
				case "retention":
					d.duration(v, path, &cfg.Audit.Retention)
				}
			})
		case "engine":
			d.mapping(v, path, engineKeys, func(key string, v *node, path string) {
				if key == "enabled" {
					d.boolean(v, path, &cfg.Engine.Enabled)
				}
			})
		case "servers":
			d.servers(v, path, cfg.Servers)
		}
	})
}

// servers decodes the "servers" mapping into out.
func (d *decoder) servers(n *node, path string, out map[string]Server) {
	if !d.want(n, path, kindMap) {
		return
	}
	for _, e := range n.entries {
		sp := keyPath(path, e.key)
		d.at[sp] = e.keyAt
		if e.value.kind != kindMap && e.value.kind != kindNull {
			if e.value.kind != kindBad {
				d.probs.add(sp, e.value.at, "a server must be a mapping of keys to values, not %s", e.value.kind.describe())
			}
			continue
		}
		s := Server{Timeout: Duration(DefaultTimeout)}
		d.mapping(e.value, sp, serverKeys, func(key string, v *node, path string) {
			switch key {
			case "command":
				d.str(v, path, &s.Command)
			case "args":
				d.strList(v, path, &s.Args)
			case "env":
				d.strMap(v, path, &s.Env)
			case "cwd":
				d.str(v, path, &s.Cwd)
			case "url":
				d.str(v, path, &s.URL)
			case "headers":
				d.strMap(v, path, &s.Headers)
			case "transport":
				d.str(v, path, &s.Transport)
			case "type":
				var t string
				if !d.str(v, path, &t) {
					return
				}
				canonical, ok := typeAliases[t]
				if !ok {
					d.probs.add(path, v.at, "must be one of stdio, http, streamable-http or sse, not %q", t)
					return
				}
				d.types[e.key] = canonical
			case "prefix":
				var p string
				if d.str(v, path, &p) {
					s.Prefix = &p
				}
			case "timeout":
				d.duration(v, path, &s.Timeout)
			case "disabled":
				d.boolean(v, path, &s.Disabled)
			case "tools":
				d.tools(v, path, &s.Tools)
			}
		})
		d.names = append(d.names, e.key)
		out[e.key] = s
	}
}

// tools decodes a server's "tools" mapping into *dst. A null entry is an
// entry with nothing set.
func (d *decoder) tools(n *node, path string, dst *map[string]Tool) {
	if !d.want(n, path, kindMap) {
		return
	}
	out := make(map[string]Tool, len(n.entries))
	for _, e := range n.entries {
		tp := keyPath(path, e.key)
		d.at[tp] = e.keyAt
		if e.value.kind != kindMap && e.value.kind != kindNull {
			if e.value.kind != kindBad {
				d.probs.add(tp, e.value.at, "a tool must be a mapping of keys to values, not %s", e.value.kind.describe())
			}
			continue
		}
		var t Tool
		d.mapping(e.value, tp, toolKeys, func(key string, v *node, path string) {
			switch key {
			case "effect":
				d.str(v, path, &t.Effect)
			case "path_args":
				d.strList(v, path, &t.PathArgs)
			case "command_args":
				d.strList(v, path, &t.CommandArgs)
			case "sql_args":
				d.strList(v, path, &t.SQLArgs)
			}
		})
		out[e.key] = t
	}
	*dst = out
}

// mapping walks a mapping whose keys must be among known, calling set for
// each known key. A null mapping is left alone.
func (d *decoder) mapping(n *node, path string, known []string, set func(key string, v *node, path string)) {
	if !d.want(n, path, kindMap) {
		return
	}
	for _, e := range n.entries {
		p := keyPath(path, e.key)
		d.at[p] = e.keyAt
		if !slices.Contains(known, e.key) {
			d.unknownKey(p, e, known)
			continue
		}
		set(e.key, e.value, p)
	}
}

// unknownKey reports a key the schema does not have, suggesting the key
// that was probably meant.
func (d *decoder) unknownKey(path string, e entry, known []string) {
	if guess := suggest(e.key, known); guess != "" {
		d.probs.add(path, e.keyAt, "unknown key (did you mean %q?)", guess)
		return
	}
	d.probs.add(path, e.keyAt, "unknown key; the keys allowed here are %s", strings.Join(known, ", "))
}

// suggest returns the known key that key is probably a misspelling of, or "".
func suggest(key string, known []string) string {
	if key == "mcpServers" && slices.Contains(known, "servers") {
		return "servers"
	}
	squash := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	best, bestDist := "", math.MaxInt
	for _, k := range known {
		if squash(k) == squash(key) {
			return k
		}
		// Allow about one edit in three, and at least two.
		if dist := editDistance(key, k); dist <= max(2, len(k)/3) && dist < len(k) && dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes. It
// gives up, returning a large number, for long strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// want reports whether n is of kind k. Null (unset) and already reported
// nodes are not, silently; any other kind is reported.
func (d *decoder) want(n *node, path string, k kind) bool {
	switch n.kind {
	case k:
		return true
	case kindNull, kindBad:
		return false
	}
	d.probs.add(path, n.at, "must be %s, not %s", k.describe(), n.kind.describe())
	return false
}

// str sets *dst to a scalar's text and reports whether it did. Numbers and
// booleans are taken as written, so `port: 08080` gives "08080".
func (d *decoder) str(n *node, path string, dst *string) bool {
	switch {
	case n.isScalar():
		*dst = n.text
		return true
	case n.kind == kindNull || n.kind == kindBad:
		return false
	}
	d.probs.add(path, n.at, "must be a string, not %s", n.kind.describe())
	return false
}

// item is str for a value that must be present: an item of a list or a
// value of a map of strings.
func (d *decoder) item(n *node, path string) (string, bool) {
	if n.kind == kindNull {
		d.probs.add(path, n.at, "must be a string, not null")
		return "", false
	}
	var s string
	ok := d.str(n, path, &s)
	return s, ok
}

// strList sets *dst to a sequence of strings.
func (d *decoder) strList(n *node, path string, dst *[]string) {
	if !d.want(n, path, kindSeq) {
		return
	}
	out := make([]string, 0, len(n.items))
	for i, item := range n.items {
		p := indexPath(path, i)
		d.at[p] = item.at
		if s, ok := d.item(item, p); ok {
			out = append(out, s)
		}
	}
	*dst = out
}

// strMap sets *dst to a mapping of strings to strings.
func (d *decoder) strMap(n *node, path string, dst *map[string]string) {
	if !d.want(n, path, kindMap) {
		return
	}
	out := make(map[string]string, len(n.entries))
	for _, e := range n.entries {
		p := keyPath(path, e.key)
		d.at[p] = e.keyAt
		if s, ok := d.item(e.value, p); ok {
			out[e.key] = s
		}
	}
	*dst = out
}

// boolean sets *dst to a boolean.
func (d *decoder) boolean(n *node, path string, dst *bool) {
	if !d.want(n, path, kindBool) {
		return
	}
	b, ok := n.num.(bool)
	if !ok {
		d.probs.add(path, n.at, "must be true or false, not %q", n.text)
		return
	}
	*dst = b
}

// integer sets *dst to an integer.
func (d *decoder) integer(n *node, path string, dst *int64) {
	if !d.want(n, path, kindInt) {
		return
	}
	switch v := n.num.(type) {
	case int64:
		*dst = v
	case uint64:
		if v > math.MaxInt64 {
			d.probs.add(path, n.at, "%s is out of range", n.text)
			return
		}
		*dst = int64(v)
	default:
		d.probs.add(path, n.at, "must be an integer, not %q", n.text)
	}
}

// duration sets *dst to a duration string or a whole number of seconds.
func (d *decoder) duration(n *node, path string, dst *Duration) {
	var (
		v   Duration
		err error
	)
	switch n.kind {
	case kindNull, kindBad:
		return
	case kindString:
		v, err = parseDurationString(n.text)
	case kindInt:
		var secs int64
		switch x := n.num.(type) {
		case int64:
			secs = x
		case uint64:
			if x > math.MaxInt64 {
				err = errDurationRange
			}
			secs = int64(x)
		default:
			err = errDurationForm
		}
		if err == nil {
			v, err = durationFromSeconds(secs)
		}
	default:
		d.probs.add(path, n.at, "%v, not %s", errDurationForm, n.kind.describe())
		return
	}
	switch {
	case errors.Is(err, errDurationRange):
		d.probs.add(path, n.at, "%s seconds is out of range", n.text)
	case err != nil:
		d.probs.add(path, n.at, "%v, not %q", err, n.text)
	default:
		*dst = v
	}
}
