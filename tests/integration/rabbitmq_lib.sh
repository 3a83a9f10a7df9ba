# rabbitmq_lib.sh: a RabbitMQ node of the test's own (Debian's rabbitmq-server 3.10 with
# its MQTT plugin, MQTT 3.1.1 only) in $T/rmq, on free ports: MQTT, AMQP, Erlang
# distribution and epmd, with a node name and cookie ($HOME) of its own, so it never
# meets the system service. Sourced after lib.sh.

# rmq_start: starts the node and waits (up to 60 s) until its MQTT listener accepts.
# Sets RMQ_PID RMQ_MQTT_PORT. Exits 77 (skip) when rabbitmq-server is not installed.
rmq_start()
{
    local bin=/usr/lib/rabbitmq/bin/rabbitmq-server i
    if [[ ! -x $bin ]]; then
        echo "SKIP: rabbitmq-server is not installed (deploy/install-deps.sh installs it)"
        exit 77
    fi
    local d=$T/rmq amqp dist
    mkdir -p "$d/home" "$d/mnesia" "$d/log"
    RMQ_MQTT_PORT=$(ota_free_port)
    amqp=$(ota_free_port)
    dist=$(ota_free_port)
    RMQ_EPMD_PORT=$(ota_free_port)
    cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp
mqtt.listeners.tcp.default = 127.0.0.1:$RMQ_MQTT_PORT
mqtt.allow_anonymous = true
mqtt.default_user = guest
mqtt.default_pass = guest
mqtt.vhost = /
mqtt.exchange = amq.topic
log.file.level = info
log.console = false
CONF
    echo '[rabbitmq_mqtt].' >"$d/enabled_plugins"
    HOME=$d/home RABBITMQ_NODENAME=ota$$@localhost RABBITMQ_NODE_PORT=$amqp \
        RABBITMQ_DIST_PORT=$dist ERL_EPMD_PORT=$RMQ_EPMD_PORT RABBITMQ_MNESIA_BASE=$d/mnesia \
        RABBITMQ_LOG_BASE=$d/log RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf \
        RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config \
        RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins RABBITMQ_PID_FILE=$d/rabbitmq.pid \
        RABBITMQ_CONF_ENV_FILE=$d/rabbitmq-env.conf \
        ota_spawn rabbitmq "$bin"
    RMQ_PID=$SPAWN_PID
    for ((i = 0; i < 600; i++)); do
        _ota_port_accepts "$RMQ_MQTT_PORT" && break
        kill -0 "$RMQ_PID" 2>/dev/null || { ota_log_tail "$T/rabbitmq.log"; fail "rabbitmq-server exited"; }
        sleep 0.1
    done
    _ota_port_accepts "$RMQ_MQTT_PORT" || fail "rabbitmq: no MQTT listener after 60 s"
    # epmd daemonises itself: track it too, so that it ends with the test
    local epmd
    epmd=$(ss -Htlnp "sport = :$RMQ_EPMD_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1)
    [[ -z $epmd ]] || ota_track "${epmd#pid=}" epmd
    export RMQ_PID RMQ_MQTT_PORT RMQ_EPMD_PORT
}

# rmq_log: the node's log (connections accepted and closed).
rmq_log()
{
    cat "$T"/rmq/log/*.log 2>/dev/null
}
