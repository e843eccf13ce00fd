package mcpmsg

// Class says what a client→server method does.
type Class int

const (
	// Unknown methods are denied by default.
	Unknown Class = iota
	// Plumbing keeps the session alive: initialize, ping, log level,
	// discovery. Always allowed.
	Plumbing
	// List reads a catalog: tools/list, prompts/list, resources/list...
	List
	// Act can have an effect or reveal data: tools/call, resources/read,
	// prompts/get.
	Act
	// Subscribe asks for future notifications about a resource.
	Subscribe
	// Complete asks for argument completions.
	Complete
)

func (c Class) String() string {
	switch c {
	case Plumbing:
		return "plumbing"
	case List:
		return "list"
	case Act:
		return "act"
	case Subscribe:
		return "subscribe"
	case Complete:
		return "complete"
	}
	return "unknown"
}

// Method names a client may send.
const (
	Initialize            = "initialize"
	Ping                  = "ping"
	SetLevel              = "logging/setLevel"
	Discover              = "server/discover"
	ToolsList             = "tools/list"
	ToolsCall             = "tools/call"
	PromptsList           = "prompts/list"
	PromptsGet            = "prompts/get"
	ResourcesList         = "resources/list"
	ResourceTemplatesList = "resources/templates/list"
	ResourcesRead         = "resources/read"
	ResourcesSubscribe    = "resources/subscribe"
	ResourcesUnsubscribe  = "resources/unsubscribe"
	CompletionComplete    = "completion/complete"
)

var classes = map[string]Class{
	Initialize:            Plumbing,
	Ping:                  Plumbing,
	SetLevel:              Plumbing,
	Discover:              Plumbing,
	ToolsList:             List,
	PromptsList:           List,
	ResourcesList:         List,
	ResourceTemplatesList: List,
	ToolsCall:             Act,
	PromptsGet:            Act,
	ResourcesRead:         Act,
	ResourcesSubscribe:    Subscribe,
	ResourcesUnsubscribe:  Subscribe,
	CompletionComplete:    Complete,
}

// Classify returns the class of a client→server request method.
func Classify(method string) Class { return classes[method] }
