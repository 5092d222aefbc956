// Package chi shows gowsgi's packages composing with a third-party router,
// github.com/go-chi/chi/v5: they are plain net/http middleware and handlers,
// so chi's Use, With, Route and Mount take them as they are.
//
// This is a module of its own, so that chi is a dependency of the example
// only, never of gowsgi. Run its tests from this directory:
//
//	cd examples/chi && go test ./...
package chi
