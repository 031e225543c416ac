# shellcheck shell=bash
# camino's part of a runner's user data on Ubuntu 24.04 (the module inserts
# it as userdata_pre_install, before the runner is installed).

# bubblewrap: each submission is trained and scored in a bubblewrap sandbox,
# which needs unprivileged user namespaces. Ubuntu 23.10 and later let
# AppArmor refuse those ("bwrap: setting up uid map: Permission denied");
# this switch allows them again, now and after a reboot. The runner runs
# only camino's one job, so no other program on the machine benefits.
apt-get install --yes --no-install-recommends bubblewrap git
cat > /etc/sysctl.d/60-camino-userns.conf <<'SYSCTL'
kernel.apparmor_restrict_unprivileged_userns = 0
SYSCTL
sysctl --system >/dev/null
if [ "$(sysctl -n kernel.apparmor_restrict_unprivileged_userns)" != 0 ]; then
  echo "camino: unprivileged user namespaces are still restricted" >&2
  exit 1
fi

# Python 3.11, as on camino's other runners (Ubuntu 24.04 carries 3.12):
# from the deadsnakes archive. `python3` on PATH becomes 3.11 through
# /usr/local/bin; /usr/bin/python3 stays the system's for its own tools.
add-apt-repository --yes ppa:deadsnakes/ppa
apt-get install --yes --no-install-recommends python3.11 python3.11-venv
ln -sf /usr/bin/python3.11 /usr/local/bin/python3

# uv with pip, into a tools venv of its own.
python3.11 -m venv /opt/camino-tools
/opt/camino-tools/bin/pip install --no-cache-dir "uv==0.13.9"
ln -sf /opt/camino-tools/bin/uv /usr/local/bin/uv
