// Package aiops is the Go client of the aiops.v1 API: the generated stubs live in
// aiops/v1 (package aiopsv1); this package adds small typed helpers around them:
// Dial, the error helpers Reason and FieldViolations, and Watch, a Subscribe that resumes
// across broken streams.
package aiops
