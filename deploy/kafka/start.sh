#!/usr/bin/env bash
# The broker as docker-compose.yml runs it: SASL_SSL (SCRAM-SHA-512) for clients, mutual TLS to
# its controller, and KRaft's StandardAuthorizer. On the first start the storage is formatted
# with every user's SCRAM credentials; later starts keep the credentials stored then.
#
# One script for the single broker and for each node of the `scale` profile's cluster:
#   KAFKA_NODE_ID             this node's id in the quorum (default 1)
#   KAFKA_HOST                the name clients and the other nodes reach it by (default kafka);
#                             the certificate must name it
#   KAFKA_QUORUM_VOTERS       every controller, id@host:9093 (default the node itself)
#   KAFKA_REPLICATION_FACTOR  replicas of internal topics and of topics created without a count
#                             (default 1); min.insync.replicas is a majority of it
#   KAFKA_CLUSTER_ID          the cluster's id, the same on every node (default a new one)
set -euo pipefail

tls=/etc/kafka/tls
config=/tmp/server.properties
client=/tmp/admin.properties
node_id="${KAFKA_NODE_ID:-1}"
host="${KAFKA_HOST:-kafka}"
voters="${KAFKA_QUORUM_VOTERS:-${node_id}@${host}:9093}"
replicas="${KAFKA_REPLICATION_FACTOR:-1}"
min_isr=$((replicas / 2 + 1))
login="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"${KAFKA_ADMIN_PASSWORD}\";"

umask 077
cat > "$config" <<PROPERTIES
process.roles=broker,controller
node.id=${node_id}
listeners=SASL_SSL://:9092,CONTROLLER://:9093
advertised.listeners=SASL_SSL://${host}:9092
controller.listener.names=CONTROLLER
controller.quorum.voters=${voters}
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
default.replication.factor=${replicas}
min.insync.replicas=${min_isr}
offsets.topic.replication.factor=${replicas}
transaction.state.log.replication.factor=${replicas}
transaction.state.log.min.isr=${min_isr}
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
  -t "${KAFKA_CLUSTER_ID:-$(/opt/kafka/bin/kafka-storage.sh random-uuid)}" -c "$config" "${scram[@]}"
exec /opt/kafka/bin/kafka-server-start.sh "$config"
