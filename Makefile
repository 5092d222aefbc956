# gowsgi: make test installs the Debian packages the tests talk to, then runs
# go vet, staticcheck, the builds for other systems and the race-enabled test
# suite.

GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

# staticcheck at a pinned version (fetched through the Go module proxy and
# cached by go run); a deliberate exception is a //lint:ignore with its reason.
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Debian packages the test suite needs (real peers, not mocks).
TEST_DEBS = python3 python3-flask python3-django mercurial python3-requests \
	python3-requests-kerberos python3-dulwich git slapd ldap-utils krb5-kdc \
	krb5-admin-server krb5-user postgresql-15 python3-psycopg2 python3-psycopg \
	python3-pymysql apache2 apache2-utils \
	libapache2-mod-wsgi-py3 libapache2-mod-auth-gssapi curl strace \
	uwsgi uwsgi-plugin-python3 pebble chromium systemd haproxy pgbouncer

.PHONY: test deps vet lint crossbuild unit examples fuzz bench

test: deps vet lint crossbuild unit examples

# While apt-get installs, /usr/sbin/policy-rc.d (exit 101: "action
# forbidden") keeps the services it installs (slapd, krb5-kdc, PostgreSQL,
# Apache) from starting and taking their ports: the tests start their own.
# It is removed afterwards, unless it was there before.
deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(TEST_DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "installing: $$missing"; \
			policy=; \
			if [ ! -e /usr/sbin/policy-rc.d ]; then \
				printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy=1; \
			fi; \
			DEBIAN_FRONTEND=noninteractive apt-get update -q && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
			status=$$?; \
			if [ -n "$$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
			exit $$status; \
		fi; \
	else echo "make deps: not root or no apt-get; install by hand: $(TEST_DEBS)"; fi

vet:
	$(GO) vet ./...

lint:
	$(STATICCHECK) ./...
	cd examples/chi && $(STATICCHECK) ./...

# The library and the command build on macOS and FreeBSD (Unix sockets, no
# SOCK_CLOEXEC on macOS, a parent-death signal on FreeBSD only); package auth
# also builds on Windows.
crossbuild:
	GOOS=darwin $(GO) vet ./...
	GOOS=darwin $(GO) build ./...
	GOOS=freebsd $(GO) vet ./...
	GOOS=freebsd $(GO) build ./...
	GOOS=windows $(GO) build ./auth/...

unit:
	$(GO) test -race -timeout 20m ./...
	@# The allocation tests build only without -race (the race detector
	@# allocates): run the packages that have them once more, without it.
	$(GO) test -count=1 -run 'Allocations$$' $$(grep -rl --include='*_test.go' '^//go:build !race' . | xargs -n1 dirname | sort -u)

# examples/chi is a module of its own (chi is its dependency, not gowsgi's).
examples:
	cd examples/chi && $(GO) vet ./... && $(GO) test -race -timeout 5m ./...

# Short fuzzing pass over every fuzz target (FUZZTIME per target).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "$$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Side-by-side peer benchmarks (installs the peers; see bench/README.md).
bench:
	bash bench/wsgi-hello.sh
	bash bench/filewrap.sh
	bash bench/auth-basic.sh
	bash bench/ldap.sh
	bash bench/pool/run.sh
