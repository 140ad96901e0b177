// Package translator is the gateway's domain: the SCIM resource types, the legacy portal's payload
// types, the error vocabulary every other package maps its failures onto, and the pure functions that
// translate between SCIM resources and portal payloads (driven by the attribute mapping), apply SCIM
// PATCH operations, parse, plan and evaluate SCIM filters, and project resources.
//
// It does no I/O, holds no logger and reads no clock: every function takes values and returns values,
// so that all of it can be proven with golden files under testdata/. It imports nothing of this module.
package translator
