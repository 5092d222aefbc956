module github.com/gowsgi/gowsgi/examples/chi

go 1.26.0

require (
	github.com/go-chi/chi/v5 v5.2.3
	github.com/gowsgi/gowsgi v0.0.0
)

require (
	github.com/abbot/go-http-auth v0.4.1-0.20230310155302-b2a0e3997b9a // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace github.com/gowsgi/gowsgi => ../..
