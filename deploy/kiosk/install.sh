#!/bin/sh
# Set up a kiosk machine: Chromium, the launcher, its policy and its units (docs/kiosk.md,
# "Setting up a kiosk machine"). Run as root; running it again changes nothing but the settings given.
#
#   sudo deploy/kiosk/install.sh --url https://garden.example.org/kiosk/ --user kiosk
#
#   --url URL    the page the kiosk shows; the camera is granted to its origin alone
#   --user NAME  the account whose desktop session shows it (logged in automatically where LightDM runs)
#   --port N     Chromium's DevTools port on 127.0.0.1, which the watchdog polls (9222)
#   --root DIR   write everything under DIR instead of / (no packages, no systemctl): a dry run
set -eu

here=$(cd "$(dirname "$0")" && pwd)
url="" user="" port=9222 root=/
while [ $# -gt 0 ]; do
    case $1 in
        --url) url=$2; shift 2 ;;
        --user) user=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --root) root=$2; shift 2 ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "$url" ] || [ -z "$user" ]; then
    echo "usage: install.sh --url URL --user NAME [--port N] [--root DIR]" >&2
    exit 2
fi

if [ "$root" = / ]; then
    home=$(getent passwd "$user" | cut -d: -f6)
    [ -n "$home" ] || { echo "install.sh: no account $user (adduser $user first)" >&2; exit 2; }
    if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
        apt-get install -y chromium || apt-get install -y chromium-browser
    fi
    command -v xset >/dev/null || apt-get install -y x11-xserver-utils || true
else
    home=$root/home/$user
fi

# The policy first: it checks the URL, before anything is written.
install -d "$root/opt/garden-kiosk" "$root/etc"
python3 "$here/garden_kiosk.py" policy --url "$url" \
    --policy-dir "$root/etc/chromium/policies/managed" --policy-dir "$root/etc/chromium-browser/policies/managed"
install -m 0755 "$here/garden_kiosk.py" "$root/opt/garden-kiosk/garden_kiosk.py"
install -m 0644 "$here/policy.json" "$root/opt/garden-kiosk/policy.json"
printf 'GARDEN_KIOSK_URL=%s\nGARDEN_KIOSK_PORT=%s\n' "$url" "$port" >"$root/etc/garden-kiosk.env"
chmod 0644 "$root/etc/garden-kiosk.env"
install -D -m 0644 "$here/garden-kiosk.service" "$root/etc/systemd/user/garden-kiosk.service"
install -D -m 0644 "$here/garden-kiosk.desktop" "$home/.config/autostart/garden-kiosk.desktop"

# Log the kiosk's account in at boot where LightDM is the display manager (Debian desktops,
# Raspberry Pi OS); GDM and others: docs/kiosk.md.
if [ -d "$root/etc/lightdm" ]; then
    install -d "$root/etc/lightdm/lightdm.conf.d"
    printf '[Seat:*]\nautologin-user=%s\n' "$user" >"$root/etc/lightdm/lightdm.conf.d/50-garden-kiosk.conf"
fi

if [ "$root" = / ]; then
    chown "$user": "$home/.config" "$home/.config/autostart" "$home/.config/autostart/garden-kiosk.desktop"
    # Raspberry Pi OS: screen blanking off for X and labwc alike (the launcher runs xset on X too).
    if command -v raspi-config >/dev/null; then raspi-config nonint do_blanking 1; fi
fi
echo "garden-kiosk: installed for $user, showing $url. Reboot, then enrol (docs/kiosk.md)."
