#!/bin/bash
# bench/auth-basic.sh: a hello-world WSGI app behind HTTP Basic with
# a bcrypt (cost 10) htpasswd made by Debian's htpasswd, under cmd/gowsgi
# (-htpasswd FILE -require valid-user) and Apache (mod_auth_basic +
# mod_authn_file, mod_wsgi embedded), each also unprotected, in one run.
#
# Target: gowsgi protected >= 0.95x gowsgi unprotected. That is a 5%
# difference on a shared 2-core machine whose requests/s move +-15% from
# one run to the next, so gowsgi is not measured "best of N" like the other
# scripts. Its runs, all with the same wrk settings, form one sequence
#
#   U  P U H U  P U H U  ...  (PAIRS times "P U H U", default 20)
#
# U the unprotected path, P the protected one, H the unprotected one sent
# the same Authorization header (which it ignores: it separates the cost of
# a longer request from the cost of checking it), all three on one gowsgi
# (see below). Each P and each H run sits
# between two U runs, and its ratio is taken to the mean of those two, so a
# drift of the machine's load during the sequence cancels out. The verdict
# is the median of the PAIRS protected ratios, printed with their spread
# (min-max) and every run's figures; the CPU per request (Go process, and
# all of gowsgi's processes) is reported the same way. Short runs and many of
# them: a burst of other work spoils a ratio or two, not the median. The
# single ratios spread over +-15% here, so a median of 10 still moved by
# 2-3% between runs of the same binary; 20 is the default. Each
# gowsgi path is warmed up once (WARMUP) before the sequence. Apache's rows
# are measured APACHE_ROUNDS times (default 1), best kept.
#
# Tunables besides lib.sh's: PAIRS, APACHE_ROUNDS, GO_DURATION (wrk -d of
# each gowsgi run, default 3s).
# Run as root on Debian 12: sudo bench/auth-basic.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${PAIRS:=20}" "${APACHE_ROUNDS:=1}" "${GO_DURATION:=3s}"
ROUNDS=$APACHE_ROUNDS # what conditions() reports: Apache's rows are the best of these

setup auth-basic
ensure_debs curl wrk python3 apache2 apache2-utils libapache2-mod-wsgi-py3
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"
USER_NAME=alice
USER_PASS=$("$PY3" -c 'import secrets; print(secrets.token_urlsafe(12))')
htpasswd -c -b -B -C 10 "$WORK/bcrypt.htpasswd" "$USER_NAME" "$USER_PASS" 2>/dev/null ||
	die "htpasswd -B -C 10 failed"
htpasswd -c -b -m "$WORK/apr1.htpasswd" "$USER_NAME" "$USER_PASS" 2>/dev/null ||
	die "htpasswd -m failed"
chmod -R a+rX "$APP" "$WORK"/*.htpasswd
AUTH="Authorization: Basic $(printf '%s:%s' "$USER_NAME" "$USER_PASS" | base64 -w0)"
BAD_AUTH="Authorization: Basic $(printf '%s:%s' "$USER_NAME" "wrong-$USER_PASS" | base64 -w0)"

label gowsgi-open "gowsgi unprotected"
label gowsgi-basic "gowsgi Basic, bcrypt cost 10"
label gowsgi-open-hdr "gowsgi unprotected, sent the Authorization header"
label apache-open "Apache mod_wsgi embedded, unprotected"
label apache-apr1 "Apache Basic, \$apr1\$ (MD5) htpasswd"
label apache-basic "Apache Basic, bcrypt cost 10 (wrk -c4)"

# One gowsgi serves all three, as one Apache serves its three rows: the
# protected and the unprotected path share the Go process and the Python
# workers, so that what differs between them is the authentication alone
# (two instances differ by a few percent on their own: where the kernel
# runs them, their caches). -auth-prefix protects /bcrypt as Apache's
# <Location /bcrypt> does; /open pays for the Location test too.
if gowsgi_has_flags htpasswd require realm auth-prefix; then
	start_gowsgi gowsgi -processes 2 -threads 1 -htpasswd "$WORK/bcrypt.htpasswd" \
		-realm bench -require valid-user -auth-prefix /bcrypt "$APP/hello.py"
else
	fail gowsgi "cmd/gowsgi has no -htpasswd/-require/-realm/-auth-prefix flags yet"
fi
if [[ $(result_of gowsgi) == FAILED ]]; then
	for p in gowsgi-open gowsgi-basic gowsgi-open-hdr; do fail "$p" "gowsgi did not start"; done
else
	set_url gowsgi-open "$(url_of gowsgi)/open" "$(pid_of gowsgi)"
	set_url gowsgi-basic "$(url_of gowsgi)/bcrypt" "$(pid_of gowsgi)"
	set_url gowsgi-open-hdr "$(url_of gowsgi)/open" "$(pid_of gowsgi)"
fi

port=$(apache_conf apache wsgi auth_basic authn_core authn_file authz_user)
cat >>"$WORK/apache/httpd.conf" <<CONF
WSGISocketPrefix $WORK/apache/wsgi
WSGIScriptAlias / $APP/hello.py
<Directory $APP>
    Require all granted
</Directory>
<Location /bcrypt>
    AuthType Basic
    AuthName bench
    AuthBasicProvider file
    AuthUserFile $WORK/bcrypt.htpasswd
    Require valid-user
</Location>
<Location /apr1>
    AuthType Basic
    AuthName bench
    AuthBasicProvider file
    AuthUserFile $WORK/apr1.htpasswd
    Require valid-user
</Location>
CONF
apache_start apache "$port"
if [[ $(result_of apache) == FAILED ]]; then
	for p in apache-open apache-basic apache-apr1; do fail "$p" "Apache did not start"; done
else
	set_url apache-open "$(url_of apache)/open" "$(pid_of apache)"
	set_url apache-basic "$(url_of apache)/bcrypt" "$(pid_of apache)"
	set_url apache-apr1 "$(url_of apache)/apr1" "$(pid_of apache)"
fi

# The protected ones must refuse no and wrong credentials and accept the right
# ones; a fast 401 is not a result.
check_status gowsgi-open "$(url_of gowsgi-open)" 200
check_status gowsgi-open-hdr "$(url_of gowsgi-open-hdr)" 200 -H "$AUTH"
for p in gowsgi-basic apache-basic apache-apr1; do
	check_status "$p" "$(url_of "$p")" 401
	check_status "$p" "$(url_of "$p")" 401 -H "$BAD_AUTH"
	check_status "$p" "$(url_of "$p")" 200 -H "$AUTH"
done
check_status apache-open "$(url_of apache-open)" 200

# gowsgi: the sequence U (P U H U) x PAIRS (lib.sh, "interleaved sequences").
GO_PEERS=(gowsgi-open gowsgi-basic gowsgi-open-hdr)
SEQ_DURATION=$GO_DURATION
seq_warm gowsgi-open "$(url_of gowsgi-open)"
seq_warm gowsgi-basic "$(url_of gowsgi-basic)" -H "$AUTH"
sleep 1
: >"$WORK/sequence"
seq_run gowsgi-open "$(url_of gowsgi-open)"
for ((round = 1; round <= PAIRS; round++)); do
	log "round $round/$PAIRS"
	seq_run gowsgi-basic "$(url_of gowsgi-basic)" -H "$AUTH"
	seq_run gowsgi-open "$(url_of gowsgi-open)"
	seq_run gowsgi-open-hdr "$(url_of gowsgi-open-hdr)" -H "$AUTH"
	seq_run gowsgi-open "$(url_of gowsgi-open)"
done
# The table's gowsgi rows: the median of each one's runs.
for p in "${GO_PEERS[@]}"; do
	seq_record "$p"
done

# bcrypt makes Apache slow: a long wrk timeout so that slow is measured, not
# counted as errors.
for ((round = 1; round <= APACHE_ROUNDS; round++)); do
	bench_rps apache-open "$(url_of apache-open)" --timeout 30s
	bench_rps apache-apr1 "$(url_of apache-apr1)" --timeout 30s -H "$AUTH"
	# Last, without a warm-up and with 4 connections: Apache checks bcrypt
	# (~60 ms of CPU) on every request, so its rate is CPU-bound at any
	# concurrency, and with 32 connections a 6 s run on a busy machine ends
	# before the first batch does; it also goes on checking the requests
	# wrk leaves in flight, which would slow down whatever comes next.
	CONNS=4 WARMUP=0 bench_rps apache-basic "$(url_of apache-basic)" --timeout 30s -H "$AUTH"
	sleep 2
done
drop_row apache # the instances themselves are not rows, their locations are
drop_row gowsgi

print_table "auth-basic: hello world behind Basic auth, requests/s ($(conditions); gowsgi: median of interleaved runs of wrk -d$GO_DURATION, see below)" "req/s" gowsgi-open

# Every protected and header run against its unprotected neighbours.
printf '\ngowsgi runs, each against the mean of the unprotected runs just before and after it:\n'
printf '%-6s %12s %12s %8s %10s %10s %8s %12s %12s %8s\n' round "protected" "unprot." "ratio" "Go µs/req" "unprot." "ratio" "+header" "unprot." "ratio"
paste -d' ' <(bracket_ratios gowsgi-basic gowsgi-open 1) <(bracket_ratios gowsgi-basic gowsgi-open 2) <(bracket_ratios gowsgi-open-hdr gowsgi-open 1) |
	awk '{printf "%-6d %12s %12.0f %8.3f %10s %10s %8.3f %12s %12.0f %8.3f\n", NR, $2, $3, $1, $5, $6, $4, $8, $9, $7}'

# The verdict: the median of the ratios, with their spread.
echo
verdict_median "gowsgi protected ÷ gowsgi unprotected, req/s" gowsgi-basic gowsgi-open 1 0.95
verdict_median "gowsgi unprotected with the header ÷ without, req/s" gowsgi-open-hdr gowsgi-open 1
verdict_median "gowsgi Go process CPU per request, protected ÷ unprotected" gowsgi-basic gowsgi-open 2
verdict_median "gowsgi all processes' CPU per request, protected ÷ unprotected" gowsgi-basic gowsgi-open 3
verdict_median "gowsgi all processes' CPU per request, unprotected with the header ÷ without" gowsgi-open-hdr gowsgi-open 3
printf 'Apache protected ÷ Apache unprotected: bcrypt %s, %s %s\n' \
	"$(ratio "$(result_of apache-basic)" "$(result_of apache-open)")" "\$apr1\$" \
	"$(ratio "$(result_of apache-apr1)" "$(result_of apache-open)")"
