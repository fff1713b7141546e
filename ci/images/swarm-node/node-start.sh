#!/bin/sh
# Starts dockerd inside the Swarm test's node container. The container is not --privileged (the
# host refuses that: no CAP_SYS_RESOURCE) but has every other capability, no seccomp or AppArmor
# profile, unmasked system paths and every device (see SwarmNode.cs); what is left is to make /sys
# and the cgroup hierarchies, which Docker mounts read-only, writable for the inner engine.
set -eu

mount -o remount,rw /sys
for hierarchy in /sys/fs/cgroup /sys/fs/cgroup/*; do
  if mountpoint -q "$hierarchy"; then
    # cgroup v1 hierarchies are bind mounts of the container's own cgroup: only the bind's flag changes.
    mount -o remount,rw "$hierarchy" 2>/dev/null || mount -o remount,bind,rw "$hierarchy"
  fi
done

# The API on the node's address on its private network only, without TLS: that network is the
# test's own and nothing else is on it.
address="$(ip -4 -o addr show eth0 | awk '{ split($4, a, "/"); print a[1] }')"
# A service's image is used as loaded into the node: no registry is asked for a newer one.
export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
exec dockerd --host unix:///var/run/docker.sock --host "tcp://${address}:2375" --tls=false
