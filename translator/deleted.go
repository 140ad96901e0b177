package translator

import "strings"

// MarkedDeleted reports whether a portal user carries the mark the gateway sets when it deletes the
// user in disable mode: DeletedProperty true, as a boolean or the string "true" (any case).
func (u *PortalUser) MarkedDeleted() bool {
	switch v := u.Properties[DeletedProperty].(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}
