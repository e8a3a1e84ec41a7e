# shellcheck shell=sh
# xdpfire-setup, firstboot: restore a missing settings.conf from the
# pristine copy, write zones.conf from the current zone mapping if there is
# none, log the mapping, and leave the stamp that marks first boot as done.
# Sourced by xdpfire-setup, which sets ETC, STATE, DEFAULTS and log; uses
# cmd_show from setup/zones.sh.

cmd_firstboot() {
	mkdir -p "$ETC" "$STATE"
	if [ ! -e "$ETC/settings.conf" ] && [ -r "$DEFAULTS/settings.conf" ]; then
		cp "$DEFAULTS/settings.conf" "$ETC/settings.conf"
		log "wrote default $ETC/settings.conf"
	fi
	map=$(cmd_show)
	if [ ! -e "$ETC/zones.conf" ] && [ -n "$map" ]; then
		{
			echo "# Zone NICs by MAC address, written at first boot from the mapping found then."
			printf '%s\n' "$map" | while read -r zone n mac path; do
				echo "$(echo "$zone" | tr '[:lower:]' '[:upper:]')_MACADDR=$mac"
			done
		} >"$ETC/zones.conf.tmp"
		mv "$ETC/zones.conf.tmp" "$ETC/zones.conf"
		log "wrote $ETC/zones.conf"
	fi
	printf '%s\n' "$map" | while read -r zone n mac path; do
		[ -n "$zone" ] && log "zone $zone is $n, MAC $mac, device $path"
	done
	[ -n "$map" ] || log "no zone NICs"
	date -u +%Y-%m-%dT%H:%M:%SZ >"$STATE/firstboot.done"
}
