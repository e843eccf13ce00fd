package policygate

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/proxy"
)

// toolTable is a ToolEffects keyed by "upstream/tool".
type toolTable map[string]string

func (t toolTable) ToolEffect(upstream, tool string) (string, bool) {
	eff, ok := t[upstream+"/"+tool]
	return eff, ok
}

func TestConfiguredEffect(t *testing.T) {
	t.Parallel()
	destructive := json.RawMessage(`{"readOnlyHint":false,"destructiveHint":true}`)
	readOnly := json.RawMessage(`{"readOnlyHint":true}`)
	tools := toolTable{"fs/write_file": EffectRead, "sh/run": EffectExec, "sh/odd": "sideways", "fs/delete": EffectDestructive}
	for _, tc := range []struct {
		name        string
		tools       ToolEffects
		method      string
		server      string
		original    string
		annotations json.RawMessage
		wantEffect  string
		wantSource  string
	}{
		{"no table: annotations", nil, "tools/call", "fs", "write_file", destructive, EffectDestructive, EffectFromAnnotations},
		{"not configured: annotations", tools, "tools/call", "fs", "read_file", readOnly, EffectRead, EffectFromAnnotations},
		{"no annotations, not configured", tools, "tools/call", "fs", "read_file", nil, EffectUnknown, EffectFromAnnotations},
		{"config lowers the class", tools, "tools/call", "fs", "write_file", destructive, EffectRead, EffectFromConfig},
		{"config raises the class", tools, "tools/call", "fs", "delete", readOnly, EffectDestructive, EffectFromConfig},
		{"exec comes from config only", tools, "tools/call", "sh", "run", nil, EffectExec, EffectFromConfig},
		{"tools/list too", tools, "tools/list", "sh", "run", readOnly, EffectExec, EffectFromConfig},
		{"same tool name, other upstream", tools, "tools/call", "other", "run", readOnly, EffectRead, EffectFromAnnotations},
		{"an effect the gate does not know is unknown", tools, "tools/call", "sh", "odd", readOnly, EffectUnknown, EffectFromConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eng := &fakeEngine{d: policy.Decision{Allow: true, Enforced: true}}
			phase := proxy.PhaseCall
			if tc.method == "tools/list" {
				phase = proxy.PhaseList
			}
			req := &proxy.Request{Phase: phase, Method: tc.method, Server: tc.server, Name: tc.server + "__" + tc.original,
				Original: tc.original, Annotations: tc.annotations, Arguments: json.RawMessage(`{}`)}
			New(Options{Engine: eng, Tools: tc.tools}).Decide(context.Background(), req)
			tool, _ := eng.inputs[0]["tool"].(map[string]any)
			if tool["effect"] != tc.wantEffect || tool["effect_source"] != tc.wantSource {
				t.Errorf("tool = %v, want effect %q from %q", tool, tc.wantEffect, tc.wantSource)
			}
			// The annotations reach the policy as the upstream gave them.
			var want map[string]any
			if len(tc.annotations) > 0 {
				_ = json.Unmarshal(tc.annotations, &want)
			} else {
				want = map[string]any{}
			}
			if !reflect.DeepEqual(tool["annotations"], want) {
				t.Errorf("annotations = %v, want %v", tool["annotations"], want)
			}
		})
	}
}

func TestFactFuncsGetTheCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		req  *proxy.Request
		want Call
	}{
		{"tools/call names the upstream and the tool's upstream name",
			callRequest(`{"path":"x"}`),
			Call{Phase: proxy.PhaseCall, Upstream: "fs", Tool: "write_file", Args: map[string]any{"path": "x"}}},
		{"prompts/get names no tool",
			&proxy.Request{Phase: proxy.PhaseCall, Method: "prompts/get", Server: "ev", Name: "ev__p", Original: "p", Arguments: json.RawMessage(`{"a":"b"}`)},
			Call{Phase: proxy.PhaseCall, Upstream: "ev", Args: map[string]any{"a": "b"}}},
		{"resources/read names no tool",
			&proxy.Request{Phase: proxy.PhaseCall, Method: "resources/read", Server: "fs", URI: "file:///x"},
			Call{Phase: proxy.PhaseCall, Upstream: "fs", Args: map[string]any{"uri": "file:///x"}}},
		{"resources/read of a rewritten URI is judged by the upstream's URI",
			&proxy.Request{Phase: proxy.PhaseCall, Method: "resources/read", Server: "fs", URI: "sovereign+upstream://fs/file:%2F%2F%2Fx", Original: "file:///x"},
			Call{Phase: proxy.PhaseCall, Upstream: "fs", Args: map[string]any{"uri": "file:///x"}}},
		{"a listed resource's URI",
			&proxy.Request{Phase: proxy.PhaseList, Method: "resources/list", Server: "fs", URI: "file:///x"},
			Call{Phase: proxy.PhaseList, Upstream: "fs", Args: map[string]any{"uri": "file:///x"}}},
		{"a tool's result",
			&proxy.Request{Phase: proxy.PhaseResult, Method: "tools/call", Server: "fs", Original: "read", Arguments: json.RawMessage(`{"path":"x"}`), Result: json.RawMessage(`{"content":[]}`)},
			Call{Phase: proxy.PhaseResult, Upstream: "fs", Tool: "read", Args: map[string]any{"content": []any{}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []Call
			record := func(c Call, _ map[string]any) { got = append(got, c) }
			eng := &fakeEngine{d: policy.Decision{Allow: true, Enforced: true}}
			New(Options{Engine: eng, Facts: []FactFunc{record, record}}).Decide(context.Background(), tc.req)
			if len(got) != 2 || !reflect.DeepEqual(got[0], tc.want) || !reflect.DeepEqual(got[1], tc.want) {
				t.Errorf("fact funcs saw %+v, want %+v twice", got, tc.want)
			}
		})
	}
}
