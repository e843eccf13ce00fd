package main

import (
	"bufio"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/core/audit"
)

// Export as OCSF "API Activity" events (docs/audit-format.md, section
// Export, is the mapping's specification).

// OCSF constants.
const (
	ocsfVersion             = "1.3.0"
	ocsfClassAPIActivity    = 6003
	ocsfCategoryApplication = 6

	ocsfActivityUnknown = 0
	ocsfActivityCreate  = 1
	ocsfActivityRead    = 2
	ocsfActivityUpdate  = 3
	ocsfActivityDelete  = 4
	ocsfActivityOther   = 99

	ocsfSeverityInformational = 1
	ocsfSeverityLow           = 2
	ocsfSeverityMedium        = 3
	ocsfSeverityHigh          = 4
	ocsfSeverityCritical      = 5

	ocsfStatusSuccess = 1
	ocsfStatusFailure = 2
)

var ocsfActivityNames = map[int]string{
	ocsfActivityUnknown: "Unknown", ocsfActivityCreate: "Create", ocsfActivityRead: "Read",
	ocsfActivityUpdate: "Update", ocsfActivityDelete: "Delete", ocsfActivityOther: "Other",
}

var ocsfSeverityNames = map[int]string{
	ocsfSeverityInformational: "Informational", ocsfSeverityLow: "Low", ocsfSeverityMedium: "Medium",
	ocsfSeverityHigh: "High", ocsfSeverityCritical: "Critical",
}

// ocsfMapped are the record fields an event carries in its own attributes;
// every other field goes to "unmapped" as it is.
var ocsfMapped = map[string]bool{
	audit.FieldSeq: true, audit.FieldTime: true, audit.FieldKind: true, audit.FieldLog: true,
	"decision_id": true, "method": true, "upstream": true, "session": true, "principal": true,
	"client": true, "tool": true, "prompt": true, "resource": true, "allow": true, "status": true,
	"duration_us": true,
}

// ocsfMapper turns records into events. It must see every record of the
// logs in order (observe), filtered or not: the version comes from
// log_opened and an outcome's activity from its decision.
type ocsfMapper struct {
	versions map[string]string   // log origin → sovereign version
	calls    map[string]ocsfCall // decision id → the call (bounded like idSet)
	old      map[string]ocsfCall
}

// ocsfCall is what an outcome's event takes from its call's decision.
type ocsfCall struct {
	activity int
	who      ocsfWho
}

// ocsfWho is who made a request.
type ocsfWho struct {
	principalKind, principalID, session, clientName, clientVersion string
}

func whoOf(rec *audit.Record) ocsfWho {
	return ocsfWho{
		principalKind: rec.Str("principal", "kind"), principalID: rec.Str("principal", "id"),
		session: rec.Str("session"), clientName: rec.Str("client", "name"), clientVersion: rec.Str("client", "version"),
	}
}

func newOCSFMapper() *ocsfMapper {
	return &ocsfMapper{versions: map[string]string{}, calls: map[string]ocsfCall{}}
}

func (m *ocsfMapper) observe(rec *audit.Record) {
	switch rec.Kind {
	case audit.KindLogOpened:
		m.versions[rec.Str(audit.FieldLog)] = rec.Str("version")
	case audit.KindDecision:
		if rec.Str("phase") == "call" {
			if len(m.calls) >= idSetGeneration {
				m.old, m.calls = m.calls, map[string]ocsfCall{}
			}
			m.calls[rec.Log+"\x00"+rec.Str("decision_id")] = ocsfCall{activity: decisionActivity(rec), who: whoOf(rec)}
		}
	}
}

// decisionActivity maps a request to an API activity: a tool by its effect,
// reading methods to Read.
func decisionActivity(rec *audit.Record) int {
	switch rec.Str("method") {
	case "tools/call":
		switch rec.Str("tool", "effect") {
		case "read":
			return ocsfActivityRead
		case "write":
			return ocsfActivityUpdate
		case "destructive":
			return ocsfActivityDelete
		case "exec":
			return ocsfActivityOther
		}
		return ocsfActivityUnknown
	case "tools/list", "prompts/list", "prompts/get", "resources/list", "resources/templates/list",
		"resources/read", "completion/complete":
		return ocsfActivityRead
	}
	return ocsfActivityOther
}

// outcomeCall is the call an outcome is of, as far as the mapper saw it.
func (m *ocsfMapper) outcomeCall(rec *audit.Record) ocsfCall {
	id := rec.Log + "\x00" + rec.Str("decision_id")
	if c, ok := m.calls[id]; ok {
		return c
	}
	if c, ok := m.old[id]; ok {
		return c
	}
	if rec.Str("method") == "tools/call" {
		return ocsfCall{activity: ocsfActivityUnknown}
	}
	return ocsfCall{activity: decisionActivity(rec)}
}

// event maps one record.
func (m *ocsfMapper) event(rec *audit.Record) map[string]any {
	origin := rec.Str(audit.FieldLog)
	product := map[string]any{"name": "Sovereign", "vendor_name": "Sovereign"}
	if v := m.versions[origin]; v != "" {
		product["version"] = v
	}
	meta := map[string]any{
		"version":       ocsfVersion,
		"product":       product,
		"log_name":      origin,
		"log_provider":  "sovereign audit log " + rec.Log,
		"uid":           origin + "/" + strconv.FormatUint(rec.Seq, 10),
		"sequence":      rec.Seq,
		"original_time": rec.Str(audit.FieldTime),
		"event_code":    rec.Kind,
	}
	ev := map[string]any{
		"class_uid":     ocsfClassAPIActivity,
		"class_name":    "API Activity",
		"category_uid":  ocsfCategoryApplication,
		"category_name": "Application Activity",
		"time":          rec.Time.UnixMilli(),
		"metadata":      meta,
	}
	activity, severity, status := ocsfActivityOther, ocsfSeverityInformational, ocsfStatusSuccess
	var detail, message string
	api := map[string]any{}
	who := whoOf(rec)
	if id := rec.Str("decision_id"); id != "" {
		meta["correlation_uid"] = id
		api["request"] = map[string]any{"uid": id}
	}
	switch rec.Kind {
	case audit.KindDecision:
		activity = decisionActivity(rec)
		allow, _ := rec.Bool("allow")
		if allow {
			ev["action_id"], ev["action"], ev["disposition_id"], ev["disposition"] = 1, "Allowed", 1, "Allowed"
			message = "allowed " + requestName(rec)
		} else {
			status, severity = ocsfStatusFailure, ocsfSeverityMedium
			if rec.Str("gate_reason") != "" {
				severity = ocsfSeverityHigh
			}
			ev["action_id"], ev["action"], ev["disposition_id"], ev["disposition"] = 2, "Denied", 2, "Blocked"
			message = "denied " + requestName(rec)
			detail = strings.Join(ruleIDs(rec), ",")
			if r := decisionNote(rec); r != "" {
				detail += ": " + r
			}
		}
		meta["profiles"] = []string{"security_control"}
	case audit.KindOutcome:
		c := m.outcomeCall(rec)
		activity, who = c.activity, c.who
		st := rec.Str("status")
		resp := map[string]any{"message": st}
		switch st {
		case "ok", "redacted":
		case "withheld":
			status, severity = ocsfStatusFailure, ocsfSeverityMedium
			resp["error"] = st
		default:
			status = ocsfStatusFailure
			resp["error"] = st
		}
		api["response"] = resp
		detail = st
		message = "outcome of " + rec.Str("method") + ": " + st
		if us, ok := rec.Int("duration_us"); ok {
			ev["duration"] = us / 1000
		}
	default:
		switch rec.Kind {
		case audit.KindAuditFailure:
			status, severity, detail = ocsfStatusFailure, ocsfSeverityHigh, rec.Str("error")
		case audit.KindTamperAccepted:
			status, severity, detail = ocsfStatusFailure, ocsfSeverityCritical, rec.Str("category")+": "+rec.Str("detail")
		case audit.KindRecoveredTornTail:
			severity = ocsfSeverityLow
		}
		message = "audit log: " + rec.Kind
		if note := lifecycleNote(rec); note != "" {
			message += " (" + note + ")"
		}
	}
	if rec.Kind == audit.KindDecision || rec.Kind == audit.KindOutcome {
		api["operation"] = rec.Str("method")
	} else {
		api["operation"] = rec.Kind
		api["service"] = map[string]any{"name": "sovereign-audit"}
	}
	if up := rec.Str("upstream"); up != "" {
		api["service"] = map[string]any{"name": up}
		ev["dst_endpoint"] = map[string]any{"svc_name": up}
	}
	ev["api"] = api
	ev["activity_id"], ev["activity_name"] = activity, ocsfActivityNames[activity]
	ev["type_uid"] = ocsfClassAPIActivity*100 + activity
	ev["type_name"] = "API Activity: " + ocsfActivityNames[activity]
	ev["severity_id"], ev["severity"] = severity, ocsfSeverityNames[severity]
	ev["status_id"] = status
	ev["status"] = map[int]string{ocsfStatusSuccess: "Success", ocsfStatusFailure: "Failure"}[status]
	if detail != "" {
		ev["status_detail"] = detail
	}
	ev["message"] = message
	ev["actor"], ev["src_endpoint"] = ocsfActor(who, origin)
	if res := ocsfResources(rec); len(res) > 0 {
		ev["resources"] = res
	}
	unmapped := map[string]any{}
	for k, v := range rec.Fields {
		if !ocsfMapped[k] {
			unmapped[k] = v
		}
	}
	if len(unmapped) > 0 {
		ev["unmapped"] = unmapped
	}
	return ev
}

// requestName names what a request was about, for the message.
func requestName(rec *audit.Record) string {
	s := rec.Str("method")
	for _, n := range []string{rec.Str("tool", "name"), rec.Str("prompt", "name"), rec.Str("resource", "uri")} {
		if n != "" {
			return s + " " + n
		}
	}
	return s
}

// ocsfActor is who acted (the principal, in a session, through a client)
// and where from. Records the log writes about itself are the proxy's.
func ocsfActor(who ocsfWho, origin string) (actor, src map[string]any) {
	actor = map[string]any{}
	if id := who.principalID; id != "" {
		kind := who.principalKind
		user := map[string]any{"uid": id, "name": id}
		switch kind {
		case "os_user", "user":
			user["type_id"], user["type"] = 1, "User"
		case "":
		default:
			user["type_id"], user["type"] = 99, kind
		}
		actor["user"] = user
	}
	if who.session != "" {
		actor["session"] = map[string]any{"uid": who.session}
	}
	if client := strings.TrimSpace(who.clientName + " " + who.clientVersion); client != "" {
		actor["app_name"] = client
		return actor, map[string]any{"name": who.clientName}
	}
	actor["app_name"] = "sovereign"
	return actor, map[string]any{"hostname": originHost(origin)}
}

// originHost is the host name in an origin, sovereign/<host>/<folder>/<id>.
func originHost(origin string) string {
	parts := strings.Split(origin, "/")
	if len(parts) >= 2 {
		return parts[1]
	}
	return ""
}

// ocsfResources are what a request touched: the tool (or prompt, or
// resource) and the upstream serving it.
func ocsfResources(rec *audit.Record) []any {
	var out []any
	switch {
	case rec.Str("tool", "name") != "":
		r := map[string]any{"type": "tool", "name": rec.Str("tool", "name")}
		if u := rec.Str("tool", "upstream_name"); u != "" {
			r["uid"] = u
		}
		data := map[string]any{}
		for _, k := range []string{"effect", "effect_source"} {
			if v := rec.Str("tool", k); v != "" {
				data[k] = v
			}
		}
		if len(data) > 0 {
			r["data"] = data
		}
		out = append(out, r)
	case rec.Str("prompt", "name") != "":
		r := map[string]any{"type": "prompt", "name": rec.Str("prompt", "name")}
		if u := rec.Str("prompt", "upstream_name"); u != "" {
			r["uid"] = u
		}
		out = append(out, r)
	case rec.Str("resource", "uri") != "":
		r := map[string]any{"type": "resource", "name": rec.Str("resource", "uri")}
		if u := rec.Str("resource", "upstream_uri"); u != "" {
			r["uid"] = u
		}
		out = append(out, r)
	}
	if up := rec.Str("upstream"); up != "" {
		out = append(out, map[string]any{"type": "mcp_server", "name": up})
	}
	return out
}

// ocsfPrinter writes one OCSF event per line.
type ocsfPrinter struct {
	w *bufio.Writer
	m *ocsfMapper
}

func (p *ocsfPrinter) print(rec *audit.Record) error {
	enc := json.NewEncoder(p.w)
	enc.SetEscapeHTML(false)
	return enc.Encode(p.m.event(rec))
}

func (p *ocsfPrinter) flush() error { return p.w.Flush() }
