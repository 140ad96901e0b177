package upstream

import (
	"encoding/json"
	"errors"

	"github.com/scim-gateway/scim-gateway/translator"
)

// listEnvelope is the portal's list answer: {"@odata.count":T,"value":[...],"@odata.nextLink":"..."}.
type listEnvelope[T any] struct {
	Count *int `json:"@odata.count"`
	Value *[]T `json:"value"`
}

// decodeOne reads a 2xx answer holding one resource; ok checks that the resource has its key.
// Errors: EInternal for a body that is not such a resource.
func decodeOne[T any](op string, status int, body []byte, ok func(*T) bool) (T, *translator.Error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, badAnswer(op, status, err)
	}
	if !ok(&v) {
		var zero T
		return zero, badAnswer(op, status, errors.New("the answer lacks the resource's key"))
	}
	return v, nil
}

// decodeList reads a 2xx list answer. Errors: EInternal for a body without a "value" array.
func decodeList[T any](op string, status int, body []byte) (int, []T, *translator.Error) {
	var env listEnvelope[T]
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, nil, badAnswer(op, status, err)
	}
	if env.Value == nil {
		return 0, nil, badAnswer(op, status, errors.New(`the answer has no "value" list`))
	}
	count := len(*env.Value)
	if env.Count != nil {
		count = *env.Count
	}
	return count, *env.Value, nil
}

func userOK(u *translator.PortalUser) bool   { return u.IDUser > 0 }
func groupOK(g *translator.PortalGroup) bool { return g.IDGroup > 0 }

// asError turns a possibly nil *translator.Error into an error, so that a nil pointer never becomes
// a non-nil interface.
func asError(e *translator.Error) error {
	if e == nil {
		return nil
	}
	return e
}
