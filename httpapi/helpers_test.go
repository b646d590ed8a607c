package httpapi

import (
	"net/http"
	"net/http/httptest"
)

func httptestRequest(accept string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/cars", nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return r
}
