// Package web is restkit's web console, served at /ui/: server-rendered pages for
// people, over the same HTTP API every other client uses.
//
// The console has no way into the stores of its own. Each page is built from calls
// to the API handler it is given (Options.API), made in process with a request
// that carries the caller's credentials (the session cookie, or an Authorization
// header) and address, so that every read and write passes the same routes, guards,
// rate limits, validation and errors as any client's. What the console can do, any
// client can do; what a caller may not do, the API refuses whatever the console
// shows. The console only decides what to offer: actions the caller's roles do not
// allow (auth.Authority.Decide) are left out of the page.
//
// Pages work without JavaScript for reading and for plain forms. A few small
// ES modules (static/js) add confirm dialogs, upload progress and drag-and-drop,
// copy buttons and live updates; they call the public API directly, with the
// session's CSRF token in X-CSRF-Token.
//
// Signing in (when auth is configured) posts the user's password or API key to the
// console, which asks the API's POST /_session to check it exactly as any request
// is checked (the sign-in rate limit, bcrypt's queue) and hands on the session
// cookie the API sets (httpapi/session.go). Every form carries the session's CSRF
// token; the console passes it on as X-CSRF-Token, and the API refuses a cookie
// write without it. The sign-in form itself, before any session exists, is guarded
// by a double-submit token and by the browser's Origin and Sec-Fetch-Site headers,
// which every unsafe request to the console must pass (a page of another site
// cannot post to it, signed in or not).
//
// Every response carries a Content-Security-Policy without 'unsafe-inline' or
// 'unsafe-eval' (no inline script or style anywhere, not even in attributes) and
// frame-ancestors 'none'. Everything shown is escaped by html/template.
//
// Files are organised by page: overview.go, list.go, record.go, form.go, noun.go,
// artefacts.go, signin.go; api.go is the in-process client, render.go the templates.
package web
