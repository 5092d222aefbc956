#!/bin/bash
# bench/auth-basic.sh (issue 5): a hello-world WSGI app behind HTTP Basic with
# a bcrypt (cost 10) htpasswd made by Debian's htpasswd, under cmd/gowsgi
# (-htpasswd FILE -require valid-user) and Apache (mod_auth_basic +
# mod_authn_file, mod_wsgi embedded), each also unprotected, in one run.
#
# Target: gowsgi protected >= 0.95x gowsgi unprotected. That is a 5%
# difference on a shared 2-core machine whose requests/s move +-15% from
# one run to the next, so gowsgi is not measured "best of N" like the other
# scripts. Its runs, all with the same wrk settings, form one sequence
#
#   U  P U H U  P U H U  ...  (PAIRS times "P U H U", default 6)
#
# U the unprotected server, P the protected one, H the unprotected one sent
# the same Authorization header (which it ignores: it separates the cost of
# a longer request from the cost of checking it). Each P and each H run sits
# between two U runs, and its ratio is taken to the mean of those two, so a
# drift of the machine's load during the sequence cancels out. The verdict
# is the median of the PAIRS protected ratios, printed with their spread
# (min-max) and every run's figures; the CPU per request (Go process, and
# all of gowsgi's processes) is reported the same way. Short runs and many of
# them: a burst of other work spoils a ratio or two, not the median. Each
# gowsgi server is warmed up once (WARMUP) before the sequence. Apache's rows
# are measured APACHE_ROUNDS times (default 1), best kept.
#
# Tunables besides lib.sh's: PAIRS, APACHE_ROUNDS, GO_DURATION (wrk -d of
# each gowsgi run, default 2s).
# Run as root on Debian 12: sudo bench/auth-basic.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${PAIRS:=6}" "${APACHE_ROUNDS:=1}" "${GO_DURATION:=2s}"
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

start_gowsgi gowsgi-open -processes 2 -threads 1 "$APP/hello.py"
if [[ $(result_of gowsgi-open) == FAILED ]]; then
	fail gowsgi-open-hdr "gowsgi-open did not start"
else
	set_url gowsgi-open-hdr "$(url_of gowsgi-open)" "$(pid_of gowsgi-open)"
fi
if gowsgi_has_flags htpasswd require realm; then
	start_gowsgi gowsgi-basic -processes 2 -threads 1 -htpasswd "$WORK/bcrypt.htpasswd" \
		-realm bench -require valid-user "$APP/hello.py"
else
	fail gowsgi-basic "cmd/gowsgi has no -htpasswd/-require/-realm flags yet"
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
check_status gowsgi-open "$(url_of gowsgi-open)/" 200
check_status gowsgi-open-hdr "$(url_of gowsgi-open-hdr)/" 200 -H "$AUTH"
for p in gowsgi-basic apache-basic apache-apr1; do
	check_status "$p" "$(url_of "$p")" 401
	check_status "$p" "$(url_of "$p")" 401 -H "$BAD_AUTH"
	check_status "$p" "$(url_of "$p")" 200 -H "$AUTH"
done
check_status apache-open "$(url_of apache-open)" 200

# gowsgi_run NAME URL [WRK-ARGS...]: one measured wrk run of a gowsgi peer
# (no warm-up: see gowsgi_warm); appends "rps go-µs/req all-µs/req" to
# $WORK/NAME.runs and "NAME rps go-µs/req all-µs/req" to $WORK/sequence,
# or fails NAME on errors under load.
gowsgi_run() {
	local name=$1 url=$2
	shift 2
	[[ $(result_of "$name") == FAILED ]] && return 0
	CPU_PIDS=()
	mapfile -t CPU_PIDS < <(proc_tree "$(pid_of "$name")")
	if ! WARMUP=0 DURATION=$GO_DURATION wrk_measure "$url" "$@"; then
		fail "$name" "wrk failed: $(tail -n 3 <<<"$WRK_OUT" | tr '\n' ' ')"
		return 0
	fi
	if ((WRK_BAD > 0 || WRK_SOCKERR * 1000 > ${WRK_REQS:-0} || ${WRK_REQS:-0} == 0)); then
		fail "$name" "$(grep -E 'Non-2xx|Socket errors' <<<"$WRK_OUT" | tr -s ' \n' ' ')under load"
		return 0
	fi
	local line
	line=$(awk -v r="$WRK_RPS" -v g="$WRK_CPU_LEADER" -v c="$WRK_CPU" -v n="$WRK_REQS" \
		'BEGIN {printf "%.0f %.1f %.1f\n", r, g / n * 1e6, c / n * 1e6}')
	echo "$line" >>"$WORK/$name.runs"
	echo "$name $line" >>"$WORK/sequence"
}

# gowsgi_warm NAME URL [WRK-ARGS...]: one unmeasured wrk run of WARMUP.
gowsgi_warm() {
	local name=$1 url=$2
	shift 2
	[[ $(result_of "$name") == FAILED || $WARMUP == 0 || $WARMUP == 0s ]] && return 0
	wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "$@" "$url" >/dev/null 2>&1 || true
}

# column N FILE: the Nth column of FILE, one value a line.
column() { awk -v n="$1" '{print $n}' "$2"; }

# median_spread: "median min max" of the numbers on stdin.
median_spread() {
	sort -g | awk '{v[NR] = $1} END {
		if (NR == 0) { print "- - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}

# bracket_ratios NAME COL: for each run of NAME in the sequence, its COL
# divided by the mean COL of the nearest gowsgi-open runs before and after
# it, one line each: "ratio value bracket-mean".
bracket_ratios() {
	awk -v want="$1" -v col="$2" '{name[NR] = $1; v[NR] = $(col + 1)}
		END {
			for (i = 1; i <= NR; i++) {
				if (name[i] != want) continue
				b = 0; a = 0
				for (j = i - 1; j >= 1; j--) if (name[j] == "gowsgi-open") { b = v[j]; break }
				for (j = i + 1; j <= NR; j++) if (name[j] == "gowsgi-open") { a = v[j]; break }
				if (a > 0 && b > 0 && v[i] > 0) printf "%.4f %s %.1f\n", v[i] / ((a + b) / 2), v[i], (a + b) / 2
			}
		}' "$WORK/sequence"
}

# gowsgi: the sequence U (P U H U) x PAIRS.
GO_PEERS=(gowsgi-open gowsgi-basic gowsgi-open-hdr)
gowsgi_warm gowsgi-open "$(url_of gowsgi-open)/"
gowsgi_warm gowsgi-basic "$(url_of gowsgi-basic)/" -H "$AUTH"
sleep 1
: >"$WORK/sequence"
gowsgi_run gowsgi-open "$(url_of gowsgi-open)/"
for ((round = 1; round <= PAIRS; round++)); do
	log "round $round/$PAIRS"
	gowsgi_run gowsgi-basic "$(url_of gowsgi-basic)/" -H "$AUTH"
	gowsgi_run gowsgi-open "$(url_of gowsgi-open)/"
	gowsgi_run gowsgi-open-hdr "$(url_of gowsgi-open-hdr)/" -H "$AUTH"
	gowsgi_run gowsgi-open "$(url_of gowsgi-open)/"
done
# The table's gowsgi rows: the median of each one's runs.
for p in "${GO_PEERS[@]}"; do
	[[ -s $WORK/$p.runs && $(result_of "$p") != FAILED ]] || continue
	read -r med lo hi < <(column 1 "$WORK/$p.runs" | median_spread)
	read -r gmed _ _ < <(column 2 "$WORK/$p.runs" | median_spread)
	read -r cmed _ _ < <(column 3 "$WORK/$p.runs" | median_spread)
	record "$p" "$med" "median of $(wc -l <"$WORK/$p.runs") runs ($(printf '%.0f-%.0f' "$lo" "$hi")); Go process $(printf '%.1f' "$gmed") µs/req"
	record_cpu "$p" "$(printf '%.0f' "$cmed")"
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
drop_row apache # the instance itself is not a row, its locations are

print_table "auth-basic: hello world behind Basic auth, requests/s ($(conditions); gowsgi: median of interleaved runs of wrk -d$GO_DURATION, see below)" "req/s" gowsgi-open

# Every protected and header run against its unprotected neighbours.
printf '\ngowsgi runs, each against the mean of the unprotected runs just before and after it:\n'
printf '%-6s %12s %12s %8s %10s %10s %8s %12s %12s %8s\n' round "protected" "unprot." "ratio" "Go µs/req" "unprot." "ratio" "+header" "unprot." "ratio"
paste -d' ' <(bracket_ratios gowsgi-basic 1) <(bracket_ratios gowsgi-basic 2) <(bracket_ratios gowsgi-open-hdr 1) |
	awk '{printf "%-6d %12s %12.0f %8.3f %10s %10s %8.3f %12s %12.0f %8.3f\n", NR, $2, $3, $1, $5, $6, $4, $8, $9, $7}'

# The verdict: the median of the ratios, with their spread.
verdict_median() {
	local text=$1 name=$2 col=$3 min=$4 med lo hi
	if [[ ! -s $WORK/sequence || $(result_of "$name") == FAILED || $(result_of gowsgi-open) == FAILED ]]; then
		printf 'target %s: not measured\n' "$text"
		return
	fi
	read -r med lo hi < <(bracket_ratios "$name" "$col" | awk '{print $1}' | median_spread)
	if [[ -z $min ]]; then
		printf '%s: median %.3f (runs %.3f-%.3f)\n' "$text" "$med" "$lo" "$hi"
	elif awk -v r="$med" -v m="$min" 'BEGIN {exit !(r >= m)}'; then
		printf 'target %s: median %.3f (runs %.3f-%.3f) (≥ %s): MET\n' "$text" "$med" "$lo" "$hi" "$min"
	else
		printf 'target %s: median %.3f (runs %.3f-%.3f) (≥ %s): NOT MET\n' "$text" "$med" "$lo" "$hi" "$min"
	fi
}
echo
verdict_median "gowsgi protected ÷ gowsgi unprotected, req/s" gowsgi-basic 1 0.95
verdict_median "gowsgi unprotected with the header ÷ without, req/s" gowsgi-open-hdr 1 ""
verdict_median "gowsgi Go process CPU per request, protected ÷ unprotected" gowsgi-basic 2 ""
verdict_median "gowsgi all processes' CPU per request, protected ÷ unprotected" gowsgi-basic 3 ""
verdict_median "gowsgi all processes' CPU per request, unprotected with the header ÷ without" gowsgi-open-hdr 3 ""
printf 'Apache protected ÷ Apache unprotected: bcrypt %s, %s %s\n' \
	"$(ratio "$(result_of apache-basic)" "$(result_of apache-open)")" "\$apr1\$" \
	"$(ratio "$(result_of apache-apr1)" "$(result_of apache-open)")"
