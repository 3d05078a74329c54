#!/bin/sh
# Once Temporal answers: the namespace netprov uses, and netprov's search attributes (the API
# would register them too, but doing it here, once, spares two replicas racing to add them).
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:=default}"

until temporal operator cluster health --address "$TEMPORAL_ADDRESS"; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"; sleep 2
done
temporal operator namespace describe -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$NAMESPACE" --retention 7d --address "$TEMPORAL_ADDRESS"
for attribute in NetprovTenant NetprovResourceType NetprovStatus; do
  temporal operator search-attribute create -n "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
    --name "$attribute" --type Keyword 2>/dev/null || true   # already there on a second run
done
echo "namespace $NAMESPACE ready"
