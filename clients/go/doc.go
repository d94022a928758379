// Package aiops is the Go client of the aiops.v1 API: the generated stubs live in
// aiops/v1 (package aiopsv1); this package adds a small typed helper around them.
package aiops
