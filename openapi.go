// Package daiban holds what the whole module shares: the API contract.
package daiban

import _ "embed"

// OpenAPI is openapi.yaml, the contract of the HTTP API.
//
//go:embed openapi.yaml
var OpenAPI []byte
