package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/sovereign-stack/sovereign/core/engine/route"
)

// MemoryDir is route's folder in the data root.
const MemoryDir = "memory"

// routeResult is route's structured result.
type routeResult struct {
	// Route is relative to the data root: memory/….
	Route   string   `json:"route"`
	Outcome string   `json:"outcome"`
	Missing string   `json:"missing,omitempty"`
	Matched []string `json:"matched"`
	DryRun  bool     `json:"dry_run"`
	// Created are the directories this call created (relative to the data
	// root).
	Created []string `json:"created"`
}

func (e *Engine) route(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		Packet json.RawMessage `json:"packet"`
		DryRun *bool           `json:"dry_run"`
		Schema json.RawMessage `json:"schema"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	dry := in.DryRun == nil || *in.DryRun
	schema := route.Default()
	if len(in.Schema) > 0 {
		s, err := route.Parse(in.Schema)
		if err != nil {
			return nil, FieldError("/schema", "%v", err)
		}
		schema = s
	}
	dec := json.NewDecoder(bytes.NewReader(in.Packet))
	dec.UseNumber()
	var packet map[string]any
	if err := dec.Decode(&packet); err != nil {
		return nil, FieldError("/packet", "not a JSON object: %v", err)
	}
	r, err := schema.Route(packet, e.now())
	switch {
	case errors.Is(err, route.ErrTemplate):
		return nil, FieldError("/schema", "%v", err)
	case errors.Is(err, route.ErrPacket):
		return nil, FieldError("/packet", "%v", err)
	case errors.Is(err, route.ErrEscape):
		return nil, &Error{Category: CategoryPermission, Field: "/schema", Msg: err.Error()}
	case err != nil:
		return nil, internal("route failed", err)
	}
	rel := path.Join(MemoryDir, r.Path)
	if !strings.HasPrefix(rel, MemoryDir+"/") || path.Clean(rel) != rel || hasDotDot(rel) {
		return nil, Errorf(CategoryPermission, "the route %q is not inside %s/", rel, MemoryDir)
	}
	out := routeResult{Route: rel, Outcome: r.Outcome, Missing: r.Missing, Matched: r.Matched, DryRun: dry, Created: []string{}}
	if !dry {
		created, err := e.mkdirs(ctx, path.Dir(rel))
		if err != nil {
			return nil, err
		}
		out.Created = created
	}
	text := "Routed to: " + rel
	switch r.Outcome {
	case route.MissingMetadata:
		text = "Routed to intake (the packet has no " + r.Missing + "): " + rel
	case route.NoMatch:
		text = "Routed to intake (no branch of the schema matched): " + rel
	}
	if !dry {
		text += " (directories ready"
		if len(out.Created) > 0 {
			text += ", " + strings.Join(out.Created, ", ") + " created"
		}
		text += ")"
	}
	return &Result{Text: text, Data: out}, nil
}

// hasDotDot reports whether a slash-separated path has a ".." segment.
func hasDotDot(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == ".." {
			return true
		}
	}
	return false
}

// mkdirs creates dir (slash-separated, relative to the data root) one
// segment at a time through the data root's os.Root, so no symlink can
// lead it outside; an existing segment must be a directory. It returns the
// directories it created.
func (e *Engine) mkdirs(ctx context.Context, dir string) ([]string, error) {
	created := []string{}
	cur := ""
	for _, seg := range strings.Split(dir, "/") {
		if err := ctx.Err(); err != nil {
			return nil, AsError(err)
		}
		if seg == "" || seg == "." || seg == ".." {
			return nil, Errorf(CategoryPermission, "the route %q is not a plain relative path", dir)
		}
		cur = path.Join(cur, seg)
		err := e.root.Mkdir(cur, 0o700)
		switch {
		case err == nil:
			created = append(created, cur)
		case errors.Is(err, fs.ErrExist):
			fi, serr := e.root.Lstat(cur)
			if serr != nil {
				return nil, internal("cannot create the route's directories", serr)
			}
			if !fi.IsDir() {
				return nil, Errorf(CategoryConflict, "%s exists and is not a directory", cur)
			}
		default:
			var pe *os.PathError
			if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
				return nil, Errorf(CategoryPermission, "%s leads outside the data root", cur)
			}
			return nil, internal("cannot create the route's directories", err)
		}
	}
	return created, nil
}
