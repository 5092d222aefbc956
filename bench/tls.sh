#!/bin/bash
# bench/tls.sh: HTTPS, gowsgi (-tls-cert/-tls-key) against Apache mod_ssl +
# mod_wsgi daemon mode (Debian's packages), both with 2 worker processes of 1
# thread serving the hello-world app, the same self-signed ECDSA P-256
# certificate (made by this script with openssl) and TLS 1.2-1.3 with each
# server's default ciphers, in one run:
#   - TLS handshakes/s: wrk sending "Connection: close", so that every request
#     opens a new connection with a full handshake (wrk does not resume
#     sessions);
#   - hello req/s over HTTPS on keep-alive connections (HTTP/1.1: wrk does not
#     speak HTTP/2).
# The two servers alternate, TLS_ROUNDS rounds (default 3) of SEQ_DURATION
# (default 5s) per figure after one WARMUP each; every figure is the median of
# its rounds, with their range, and the servers' CPU per request (all their
# processes). Tunables besides lib.sh's: TLS_ROUNDS, SEQ_DURATION.
# Run as root on Debian 12: sudo bench/tls.sh (see bench/README.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${TLS_ROUNDS:=3}" "${SEQ_DURATION:=5s}"
ROUNDS=$TLS_ROUNDS DURATION=$SEQ_DURATION # what conditions() reports

setup tls
ensure_debs curl wrk openssl python3 apache2 libapache2-mod-wsgi-py3
build_gowsgi

APP=$WORK/app
mkdir -p "$APP"
cp "$BENCH_DIR/apps/hello.py" "$APP/hello.py"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >"$WORK/openssl.log" 2>&1 ||
	die "openssl req failed: $(cat "$WORK/openssl.log")"
chmod -R a+rX "$APP"
chmod a+r "$WORK/cert.pem" "$WORK/key.pem"

PEERS=(gowsgi modssl)
label gowsgi "gowsgi -processes 2 -threads 1, HTTPS"
label modssl "Apache mod_ssl + mod_wsgi daemon processes=2 threads=1"

start_gowsgi gowsgi -processes 2 -threads 1 -tls-cert "$WORK/cert.pem" -tls-key "$WORK/key.pem" "$APP/hello.py"
[[ $(result_of gowsgi) == FAILED ]] || set_url gowsgi "$(url_of gowsgi | sed 's/^http:/https:/')" "$(pid_of gowsgi)"

port=$(apache_conf modssl wsgi ssl socache_shmcb)
cat >>"$WORK/modssl/httpd.conf" <<CONF
SSLEngine on
SSLCertificateFile $WORK/cert.pem
SSLCertificateKeyFile $WORK/key.pem
SSLProtocol -all +TLSv1.2 +TLSv1.3
SSLSessionCache shmcb:$WORK/modssl/ssl_scache(512000)
CONF
modwsgi_daemon modssl hello "$APP/hello.py" 2 1
# apache_start waits with plain HTTP: mod_ssl answers it 400, enough to
# know Apache listens.
apache_start modssl "$port"
[[ $(result_of modssl) == FAILED ]] || set_url modssl "https://127.0.0.1:$port" "$(pid_of modssl)"

for p in "${PEERS[@]}"; do
	check_status "$p" "$(url_of "$p")/" 200 -k
done

# measure KIND WRK-ARGS...: TLS_ROUNDS alternated runs per peer, recorded
# as NAME-KIND.
measure() {
	local kind=$1 round p
	shift
	for p in "${PEERS[@]}"; do
		[[ $(result_of "$p") == FAILED ]] && continue
		set_url "$p-$kind" "$(url_of "$p")" "$(pid_of "$p")"
		seq_warm "$p-$kind" "$(url_of "$p")/" "$@"
	done
	for ((round = 1; round <= TLS_ROUNDS; round++)); do
		for p in "${PEERS[@]}"; do
			[[ $(result_of "$p") == FAILED ]] && continue
			log "$kind round $round: $p"
			seq_run "$p-$kind" "$(url_of "$p")/" "$@"
		done
	done
}

# New connection per request: the response closes it, which wrk reads as
# EOF before reconnecting.
READ_ERRORS_OK=1 measure close -H "Connection: close"
measure keepalive

print_result() {
	local kind=$1 title=$2 p
	_RES_NAMES=()
	for p in "${PEERS[@]}"; do
		label "$p-$kind" "${_RES_LABEL[$p]}"
		if [[ $(result_of "$p") == FAILED ]]; then
			record "$p-$kind" FAILED
		else
			seq_record "$p-$kind"
		fi
	done
	print_table "$title" "req/s" "gowsgi-$kind"
}

printf '\n%s\n' "$(conditions)"
print_result close "TLS handshakes/s: a new connection (full handshake) per request, wrk -H 'Connection: close'"
print_result keepalive "hello req/s over HTTPS, keep-alive (HTTP/1.1)"
echo
printf 'handshakes/s, gowsgi ÷ Apache mod_ssl: %s\n' "$(ratio "$(result_of gowsgi-close)" "$(result_of modssl-close)")"
printf 'keep-alive req/s over HTTPS, gowsgi ÷ Apache mod_ssl: %s\n' "$(ratio "$(result_of gowsgi-keepalive)" "$(result_of modssl-keepalive)")"

exit "$FAILED"
