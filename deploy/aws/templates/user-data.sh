#!/bin/bash -x
# User data of camino's EC2 runners on Ubuntu 24.04, rendered by the
# terraform-aws-github-runner module (userdata_template). The module fills in
# pre_install (camino-setup.sh), install_runner and start_runner (its own
# scripts: fetch the runner from the module's S3 bucket, register it just in
# time, run one job, terminate the instance) and post_install.
# Terraform renders this file: a dollar-brace pair here would be read as a
# template variable, so shell variables below are written as $name.
# No `set -e` out here: the module's start script handles its own errors
# (it polls, and terminates the instance on the way out).
exec > >(tee /var/log/user-data.log | logger -t user-data -s 2>/dev/console) 2>&1

export DEBIAN_FRONTEND=noninteractive

# What the module's install and start scripts call: the AWS CLI (S3 for the
# runner tarball, SSM for the runner's configuration, EC2 to terminate
# itself), curl, jq and unzip. Ubuntu 24.04 ships the AWS CLI as a snap only.
apt-get update
apt-get install --yes --no-install-recommends ca-certificates curl jq unzip
snap wait system seed.loaded
snap install aws-cli --classic

# camino's setup runs strictly: if any step fails, the instance powers off
# (the module's launch template turns that into termination) before it has
# registered, instead of taking a job it would fail in a confusing way.
(
  set -euo pipefail
  ${pre_install}
)
status=$?
if [ "$status" -ne 0 ]; then
  echo "camino: runner setup failed ($status); shutting down unregistered" >&2
  shutdown -h now
  exit "$status"
fi

# install_runner and start_runner expect these.
user_name=ubuntu
export user_name

${install_runner}

${post_install}

cd /opt/actions-runner

# What camino records about the machine a submission ran on (a record's
# "runner"), through the runner's .env, which the runner reads when it
# starts and hands to every job. The labels, since Actions has no variable
# for them: the module's self-hosted, linux and x64, then main.tf's
# runner_extra_labels (keep them in step). The instance type from the
# firmware, whose product name on a Nitro instance is its type (c6a.large):
# camino never asks the instance metadata service.
machine_type=""
if [ "$(cat /sys/devices/virtual/dmi/id/sys_vendor 2>/dev/null)" = "Amazon EC2" ]; then
  machine_type=$(cat /sys/devices/virtual/dmi/id/product_name 2>/dev/null)
fi
cat >> .env <<ENV
CAMINO_RUNNER_LABELS=self-hosted,linux,x64,camino
CAMINO_MACHINE_TYPE=$machine_type
ENV

${start_runner}
