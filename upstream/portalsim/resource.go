package portalsim

import (
	"net/http"
	"strconv"
)

// The handler plumbing users and groups share. Each resource passes its own rules: its errors
// (USER_NOT_FOUND or GROUP_NOT_FOUND, existingIdUser or existingIdGroup), its body validation and its
// store calls.

// stampedRecord is a pointer to a record type R that embeds a stamp.
type stampedRecord[R any] interface {
	*R
	stamped() *stamp
}

// recordID parses the key of a route naming one record; a key that is not an id is keyNotFound.
func (e resourceErrors[P]) recordID(key string) (int64, *apiError) {
	id, ok := parseKey(key)
	if !ok {
		return 0, e.keyNotFound(key)
	}
	return id, nil
}

// createRecord serves POST on the collection at path (e.g. "/users"). parse validates the body; create
// stores the record, or returns the id of the record holding its key, answered errs.exists. A created
// record is 201 with its body and its URL as Location.
func createRecord[R any, P stampedRecord[R]](s *Sim, w http.ResponseWriter, r *http.Request, errs resourceErrors[P],
	path string, parse func(body map[string]any) (P, *apiError), create func(in P) (P, int64)) reply {
	body, err := readJSONObject(w, r)
	if err != nil {
		return errorReply(err)
	}
	in, err := parse(body)
	if err != nil {
		return errorReply(err)
	}
	rec, existing := create(in)
	if rec == nil {
		return errorReply(errs.exists(in, existing))
	}
	created := rec.stamped()
	return reply{status: http.StatusCreated, body: created.body,
		location: s.absoluteURL(r, s.basePath+apiPrefix+path+"("+strconv.FormatInt(created.id, 10)+")")}
}

// getRecord serves GET of the record a route key names: 200 with its body, or errs.notFound.
func getRecord[R any, P stampedRecord[R]](errs resourceErrors[P], key string, get func(id int64) P) reply {
	id, err := errs.recordID(key)
	if err != nil {
		return errorReply(err)
	}
	rec := get(id)
	if rec == nil {
		return errorReply(errs.notFound(id))
	}
	return reply{status: http.StatusOK, body: rec.stamped().body}
}

// patchRecord serves PATCH of the record a route key names: update runs patch on the stored record
// under the store's lock. A body that cannot be read fails inside update, so that an unknown id is
// answered errs.notFound first.
func patchRecord[R any, P stampedRecord[R]](w http.ResponseWriter, r *http.Request, errs resourceErrors[P], key string,
	update func(id int64, change func(old P) (P, *apiError)) (P, *apiError),
	patch func(old P, body map[string]any) (P, *apiError)) reply {
	id, err := errs.recordID(key)
	if err != nil {
		return errorReply(err)
	}
	body, bodyErr := readJSONObject(w, r)
	rec, err := update(id, func(old P) (P, *apiError) {
		if bodyErr != nil {
			return nil, bodyErr
		}
		return patch(old, body)
	})
	if err != nil {
		return errorReply(err)
	}
	return reply{status: http.StatusOK, body: rec.stamped().body}
}

// deleteRecord serves DELETE of the record a route key names: 204, or errs.notFound.
func deleteRecord[P any](errs resourceErrors[P], key string, remove func(id int64) bool) reply {
	id, err := errs.recordID(key)
	if err != nil {
		return errorReply(err)
	}
	if !remove(id) {
		return errorReply(errs.notFound(id))
	}
	return reply{status: http.StatusNoContent}
}

// listRecords serves GET on a collection whose $filter takes fields: list returns the count of the
// matches and the page.
func listRecords[R any, P stampedRecord[R]](s *Sim, r *http.Request, fields filterFields,
	list func(f filter, skip, top int) (int, []P)) reply {
	q, err := parseListQuery(r, fields)
	if err != nil {
		return errorReply(err)
	}
	count, page := list(q.filter, q.skip, q.top)
	items := make([][]byte, len(page))
	for i, rec := range page {
		items[i] = rec.stamped().body
	}
	return s.listReply(r, q, count, items)
}

// listLinked serves GET of the records linked to the record a route key names (a user's groups, a
// group's members), which take no $filter: linked returns the count and the page of them, each
// rendered by body. An unknown record is errs.notFound, before the query is checked.
func listLinked[R any, P stampedRecord[R], Q any](s *Sim, r *http.Request, errs resourceErrors[P], key string,
	get func(id int64) P, linked func(id int64, skip, top int) (int, []Q, bool), body func(Q) []byte) reply {
	id, err := errs.recordID(key)
	if err != nil {
		return errorReply(err)
	}
	if get(id) == nil {
		return errorReply(errs.notFound(id))
	}
	q, err := parseListQuery(r, nil)
	if err != nil {
		return errorReply(err)
	}
	count, page, found := linked(id, q.skip, q.top)
	if !found {
		return errorReply(errs.notFound(id))
	}
	items := make([][]byte, len(page))
	for i, rec := range page {
		items[i] = body(rec)
	}
	return s.listReply(r, q, count, items)
}
