# cdn_lib.sh: the nginx CDN edge of deploy/cdn/ for the integration tests (sourced after
# lib.sh). Stock Debian nginx with its own prefix, configuration, cache and logs in
# $T/edge, on a free port; never the system service.
# shellcheck shell=bash
#
# API:
#   cdn_prepare [EDGE_NAME]   picks EDGE_PORT, writes the secret ($CDN_KEY), the edge's
#                             server certificate and its client certificate (registered
#                             by cdn_start_edge); sets CDN_CONF, the [cdn] lines for
#                             ota_setup: base_url, token nginx, key_file
#   cdn_start_edge            fills deploy/cdn/nginx-edge.conf.in in and starts nginx;
#                             sets EDGE_PID EDGE_URL; its access log is $T/edge/access.log
#   ota_curl_edge NAME|- curl-args...   mTLS curl to the edge as client NAME

cdn_prepare()
{
    CDN_EDGE_NAME=${1:-cdn-edge1}
    EDGE_PORT=$(ota_free_port)
    EDGE_URL=https://localhost:$EDGE_PORT
    CDN_KEY=$T/cdn.key
    export EDGE_PORT EDGE_URL CDN_KEY CDN_EDGE_NAME
    openssl rand -hex 32 >"$CDN_KEY"
    ota_pki
    # the edge's own TLS identity towards vehicles (SAN localhost, 127.0.0.1) and its
    # client certificate to the origin
    "$OTA_SRC/certs/mkcert.sh" "$T/pki" server edge-server >/dev/null ||
        fail "cdn_prepare: mkcert.sh server edge-server failed"
    ota_edge_cert "$CDN_EDGE_NAME" >/dev/null
    CDN_CONF=("[cdn]" "base_url = $EDGE_URL" "token = nginx" "key_file = $CDN_KEY")
}

cdn_start_edge()
{
    local e=$T/edge i
    command -v nginx >/dev/null || fail "nginx is not installed (deploy/debian-packages.txt)"
    ota_admin edge add "$CDN_EDGE_NAME" >/dev/null
    mkdir -p "$e/tmp" "$e/cache"
    sed -e "s|@LISTEN@|127.0.0.1:$EDGE_PORT|" -e "s|@SERVER_NAME@|localhost|" \
        -e "s|@EDGE_CERT@|$T/pki/edge-server.crt|" -e "s|@EDGE_KEY@|$T/pki/edge-server.key|" \
        -e "s|@FLEET_CA@|$T/pki/ca.crt|g" \
        -e "s|@CLIENT_CERT@|$T/pki/$CDN_EDGE_NAME.crt|" -e "s|@CLIENT_KEY@|$T/pki/$CDN_EDGE_NAME.key|" \
        -e "s|@ORIGIN@|127.0.0.1:$SERVER_PORT|" -e "s|@ORIGIN_NAME@|localhost|g" \
        -e "s|@CACHE_DIR@|$e/cache|" -e "s|@SECRET@|$(cat "$CDN_KEY")|" \
        "$OTA_SRC/deploy/cdn/nginx-edge.conf.in" >"$e/edge.conf"
    if grep -v '^ *#' "$e/edge.conf" | grep -q '@[A-Z_]*@'; then
        fail "cdn_start_edge: unfilled names in edge.conf: $(grep -o '@[A-Z_]*@' "$e/edge.conf" | sort -u | tr '\n' ' ')"
    fi
    cat >"$e/nginx.conf" <<NGINX
$( [[ $(id -u) -eq 0 ]] && echo "user root;" )
worker_processes 1;
pid $e/nginx.pid;
error_log $e/error.log info;
events { worker_connections 1024; }
http {
    client_body_temp_path $e/tmp/body;
    proxy_temp_path $e/tmp/proxy;
    fastcgi_temp_path $e/tmp/fastcgi;
    uwsgi_temp_path $e/tmp/uwsgi;
    scgi_temp_path $e/tmp/scgi;
    log_format edge '\$ssl_client_s_dn "\$request_uri" \$status \$body_bytes_sent \$upstream_cache_status';
    access_log $e/access.log edge;
    include $e/edge.conf;
}
NGINX
    nginx -t -p "$e" -c "$e/nginx.conf" >"$e/nginx-t.log" 2>&1 || {
        ota_log_tail "$e/nginx-t.log"
        fail "cdn_start_edge: nginx -t refused the configuration"
    }
    ota_spawn edge nginx -p "$e" -c "$e/nginx.conf" -g "daemon off;"
    EDGE_PID=$SPAWN_PID
    export EDGE_PID
    for ((i = 0; i < 100; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$EDGE_PORT") 2>/dev/null; then
            return 0
        fi
        kill -0 "$EDGE_PID" 2>/dev/null || { ota_log_tail "$T/edge.log"; fail "nginx exited"; }
        sleep 0.1
    done
    fail "cdn_start_edge: nginx does not listen on $EDGE_PORT"
}

# ota_curl_edge NAME|- ARGS...: curl to the edge with client certificate NAME (- = none).
ota_curl_edge()
{
    local name=$1
    shift
    local cert=()
    [[ $name == - ]] || cert=(--cert "$T/pki/$name.crt" --key "$T/pki/$name.key")
    curl -s -g --max-time 20 --cacert "$T/pki/ca.crt" --resolve "localhost:$EDGE_PORT:127.0.0.1" \
        "${cert[@]}" "$@"
}
