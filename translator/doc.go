// Package translator is the gateway's domain: the SCIM resource types, the legacy portal's payload
// types, the error vocabulary every other package maps its failures onto, and the pure functions that
// translate between SCIM resources and portal payloads (driven by the attribute mapping), apply SCIM
// PATCH operations, parse, plan and evaluate SCIM filters, and project resources.
//
// It does no I/O, holds no logger and reads no clock: every function takes values and returns values,
// so that all of it can be proven with golden files under testdata/. It imports nothing of this module.
//
// # Main entry points
//
// Decoding requests (errors are *Error with code EInvalid and a SCIM scimType):
//   - ParseUser, ParseGroup: a request body to a normalised Resource (attribute names matched
//     case-insensitively, null and unknown attributes dropped, "True"/"False" to booleans).
//   - ParsePatchRequest: a PATCH body to []PatchOp.
//   - ParseFilter: a filter to a Filter (RFC 7644 plus Entra's unquoted values and
//     `emails[type eq "work"].value eq "x"`); ParsePath: a PATCH path.
//   - ParseProjection: the attributes / excludedAttributes parameters to a Projection.
//
// The mapping (configuration under the key "mapping"; see MappingConfig and DefaultMappingConfig):
//   - NewMapping(MappingConfig) validates and compiles it, reporting every problem at once.
//   - (*Mapping).ToPortalUser / ToPortalGroup: a SCIM resource to the portal's create body, with the
//     []FieldChange that explains which SCIM attribute became which portal field.
//   - (*Mapping).FromPortalUser / FromPortalGroup: a portal record back to a SCIM resource, every mapped
//     value exactly as it was sent.
//   - (*Mapping).Diff / DiffGroup: the portal PATCH body (Patch) holding only what changes, the
//     enable/disable decision and the member changes.
//   - (*Mapping).Plan / PlanGroup: a Filter split into portal $filter terms ([]PortalFilter) and the
//     residual Filter the gateway evaluates with Filter.Matches.
//   - (*Mapping).Schemas: the /Schemas documents, listing only mapped attributes.
//   - (*Mapping).SCIMAttribute / SCIMGroupAttribute: a portal error target back to its SCIM attribute.
//
// SCIM semantics:
//   - ApplyPatch: PATCH operations on a User, all or nothing; ApplyGroupPatch: on a Group, with the
//     member changes (MemberChanges) the gateway applies through the portal's member calls.
//   - Filter.Matches: evaluation with SCIM's case rules.
//   - Projection.Apply: attributes / excludedAttributes.
//
// The login (SplitLogin, SCIMUserName) and the characters the portal refuses in it are described in
// login.go.
package translator
