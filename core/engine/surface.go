package engine

import "context"

// Resource is a resource the engine serves (sovereign://…).
type Resource struct {
	URI         string
	Name        string
	Description string
	MIMEType    string
	Read        func(ctx context.Context, c Caller) (string, error)
}

// Prompt is a prompt the engine serves; it takes no arguments.
type Prompt struct {
	Name        string
	Description string
	Get         func(ctx context.Context, c Caller) ([]PromptMessage, error)
}

// PromptMessage is one message of a prompt.
type PromptMessage struct {
	Role string // "user" or "assistant"
	Text string
}

// Resources returns the engine's resources.
func (e *Engine) Resources() []Resource { return e.resources }

// Prompts returns the engine's prompts.
func (e *Engine) Prompts() []Prompt { return e.prompts }
