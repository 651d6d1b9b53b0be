// Package api is Vigil's HTTP layer on fasthttp: routing, authentication, request parsing, the
// single error-to-status mapping (errors.go) and JSON encoding, for the native API and the
// vendor-compatible endpoints alike. Of Vigil's packages it imports engine only.
package api
