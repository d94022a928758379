package aiops

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of the errors the server sends.
const ErrorDomain = "aiops.dev"

// Reason returns the google.rpc.ErrorInfo reason of an error from the server, such as
// "INVALID_ARGUMENT", "RESOURCE_NOT_FOUND", "RESOURCE_ALREADY_EXISTS", "ETAG_MISMATCH" or
// "DATA_SOURCE_IN_USE": the names of aiopsv1.ErrorReason without the "ERROR_REASON_"
// prefix. Branch on it rather than on the message, which is for people and may change.
// It returns "" when err carries no ErrorInfo of ErrorDomain (a transport failure, say).
func Reason(err error) string {
	for _, detail := range status.Convert(err).Details() {
		// Reasons are only unique within their domain, so ignore other domains' (a proxy's).
		if info, ok := detail.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return info.GetReason()
		}
	}
	return ""
}

// FieldViolations returns, for an INVALID_ARGUMENT error, the description of the problem
// with each request field, keyed by the field's path such as "data_source.urls[0]". The
// server checks every field before it answers, so one error names all the bad ones.
// It returns nil when err carries no google.rpc.BadRequest detail.
func FieldViolations(err error) map[string]string {
	var violations map[string]string
	for _, detail := range status.Convert(err).Details() {
		badRequest, ok := detail.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range badRequest.GetFieldViolations() {
			if violations == nil {
				violations = make(map[string]string)
			}
			// A field with two problems is listed twice; keep both descriptions.
			if before, ok := violations[v.GetField()]; ok {
				violations[v.GetField()] = before + "; " + v.GetDescription()
			} else {
				violations[v.GetField()] = v.GetDescription()
			}
		}
	}
	return violations
}
