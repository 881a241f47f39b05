#!/usr/bin/env bash
# The broker as docker-compose.yml runs it: SASL_SSL (SCRAM-SHA-512) for clients, mutual TLS to
# its controller, and KRaft's StandardAuthorizer. On the first start the storage is formatted
# with every user's SCRAM credentials; later starts keep the credentials stored then.
set -euo pipefail

tls=/etc/kafka/tls
config=/tmp/server.properties
client=/tmp/admin.properties
login="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"${KAFKA_ADMIN_PASSWORD}\";"

umask 077
cat > "$config" <<PROPERTIES
process.roles=broker,controller
node.id=1
listeners=SASL_SSL://:9092,CONTROLLER://:9093
advertised.listeners=SASL_SSL://kafka:9092
controller.listener.names=CONTROLLER
controller.quorum.voters=1@kafka:9093
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${login}
ssl.keystore.type=PEM
ssl.keystore.location=${tls}/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=${tls}/ca.pem
listener.name.controller.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:CN=kafka
allow.everyone.if.no.acl.found=false
log.dirs=/var/lib/kafka/data
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPERTIES

# What the health check connects with.
cat > "$client" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=${login}
ssl.truststore.type=PEM
ssl.truststore.location=${tls}/ca.pem
PROPERTIES

scram=()
for user in admin:KAFKA_ADMIN_PASSWORD auditor:KAFKA_AUDITOR_PASSWORD \
    intake:INTAKE_KAFKA_PASSWORD processing:PROCESSING_KAFKA_PASSWORD \
    notify:NOTIFY_KAFKA_PASSWORD audit:AUDIT_KAFKA_PASSWORD; do
  name="${user%%:*}"
  variable="${user#*:}"
  scram+=(--add-scram "SCRAM-SHA-512=[name=${name},password=${!variable}]")
done

/opt/kafka/bin/kafka-storage.sh format --ignore-formatted \
  -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" -c "$config" "${scram[@]}"
exec /opt/kafka/bin/kafka-server-start.sh "$config"
