# shellcheck shell=sh
# xdpfire-setup, zones: which NIC is green and which is red, and naming them
# green0 and red0 (commands zones, plan, show). Sourced by xdpfire-setup,
# which sets SYSFS, CMDLINE, ETC, NETDIR, DRYRUN, WAIT, ZONES and log.

ip_() {
	if [ "$DRYRUN" = 1 ]; then echo "ip $*"; else ip "$@"; fi
}

lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }

is_mac() {
	case $1 in
	[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]) return 0 ;;
	esac
	return 1
}

# WANT_green, WANT_red: the wanted MAC of each zone (lower case), or empty.
# The kernel command line wins over zones.conf.
want_macs() {
	# A bad line of zones.conf has been reported by the reader and is left
	# out; the zones are still named from the rest.
	settings_load "$ETC/zones.conf" Z_ GREEN_MACADDR RED_MACADDR || :
	WANT_green=${Z_GREEN_MACADDR:-}
	WANT_red=${Z_RED_MACADDR:-}
	# Where each zone's MAC came from, for the log. The src_<zone>
	# variables are read through eval below, where the linter cannot see
	# them (SC2034: "appears unused").
	# shellcheck disable=SC2034
	src_green=zones.conf src_red=zones.conf
	kernel_cmdline=""
	if [ -r "$CMDLINE" ]; then read -r kernel_cmdline <"$CMDLINE" || true; fi
	# Split the command line into words, without globbing them.
	set -f
	# shellcheck disable=SC2034 # src_<zone>: read through eval below
	for w in $kernel_cmdline; do
		case $w in
		xdpfire.green=*) WANT_green=${w#*=}; src_green=cmdline ;;
		xdpfire.red=*) WANT_red=${w#*=}; src_red=cmdline ;;
		esac
	done
	set +f
	for zone in $ZONES; do
		src=""
		eval "mac=\$WANT_$zone src=\$src_$zone"
		if [ -n "$mac" ] && ! is_mac "$mac"; then
			log "ignoring $zone MAC '$mac' from $src: not a MAC address"
			mac=""
		fi
		case $mac in *[A-F]*) mac=$(lower "$mac") ;; esac
		eval "WANT_$zone=\$mac"
	done
}

# Lines "name mac devicepath" of every NIC; physical ones have a device path,
# virtual ones get "-". Sorted by device path, then name.
list_nics() {
	for d in "$SYSFS"/class/net/*; do
		[ -e "$d/address" ] || continue
		n=${d##*/}
		[ "$n" = lo ] && continue
		read -r mac <"$d/address" || continue
		case $mac in *[A-F]*) mac=$(lower "$mac") ;; esac
		path=-
		if [ -e "$d/device" ]; then
			path=$(readlink -f "$d/device")
			path=${path#"$SYSFS"/devices/}
			case $path in virtual/*) path=- ;; esac
		fi
		echo "$n $mac $path"
	done | sort -k3,3 -k1,1
}

# Decide the mapping from $NICS; prints "zone name mac path" lines.
plan_zones() {
	# MACs given for a zone are never picked by the fallback rule.
	taken=" $WANT_green $WANT_red "
	for zone in $ZONES; do
		eval "want=\$WANT_$zone"
		line=""
		while read -r n mac path; do
			[ -n "$n" ] || continue
			if [ -n "$want" ]; then
				[ "$mac" = "$want" ] || continue
			else
				[ "$path" != - ] || continue
				case $taken in *" $mac "*) continue ;; esac
			fi
			line="$n $mac $path"
			break
		done <<EOF
$NICS
EOF
		if [ -z "$line" ]; then
			[ -n "$want" ] && log "$zone: no NIC has the MAC $want; $zone is not configured"
			continue
		fi
		# The loop stopped at the chosen line, so $mac is that NIC's MAC.
		taken="$taken$mac "
		echo "$zone $line"
	done
}

# Wait (up to WAIT seconds) for the NICs the mapping needs: the configured
# MACs, or two physical NICs for the fallback rule.
wait_nics() {
	i=0
	while :; do
		NICS=$(list_nics)
		ok=1
		for want in $WANT_green $WANT_red; do
			case " $NICS" in *" $want "*) ;; *) ok=0 ;; esac
		done
		if [ -z "$WANT_green$WANT_red" ]; then
			phys=0
			while read -r n mac path; do
				[ -n "$n" ] && [ "$path" != - ] && phys=$((phys + 1))
			done <<EOF
$NICS
EOF
			[ "$phys" -ge 2 ] || ok=0
		fi
		[ "$ok" = 1 ] && return 0
		[ "$i" -ge "$WAIT" ] && return 0
		[ "$DRYRUN" = 1 ] && return 0
		sleep 1
		i=$((i + 1))
	done
}

write_link() { # zone mac
	mkdir -p "$NETDIR"
	f="$NETDIR/10-xdpfire-${1}0.link"
	cat >"$f.tmp" <<EOF
# Written by xdpfire-setup zones: the $1 zone's NIC keeps its name on hotplug.
[Match]
MACAddress=$2

[Link]
Name=${1}0
EOF
	mv "$f.tmp" "$f"
}

cmd_zones() {
	want_macs
	wait_nics
	plan=$(plan_zones)
	for zone in $ZONES; do rm -f "$NETDIR/10-xdpfire-${zone}0.link"; done
	while read -r zone name mac path; do
		[ -n "$zone" ] && write_link "$zone" "$mac"
	done <<EOF
$plan
EOF
	if [ "$DRYRUN" != 1 ] && command -v udevadm >/dev/null; then
		# udev must be done with these NICs (its own naming included) before
		# they are renamed, or it could rename them back; from now on the
		# .link files name them. The devices are collected in the positional
		# parameters, one argument each.
		set --
		devs=""
		while read -r zone name mac path; do
			[ -n "$zone" ] || continue
			set -- "$@" "$SYSFS/class/net/$name"
			devs="$devs $SYSFS/class/net/$name"
		done <<EOF
$plan
EOF
		if [ "$#" -gt 0 ]; then
			udevadm wait --timeout="$WAIT" --initialized=yes "$@" || log "udev did not finish with$devs within $WAIT s"
		fi
		udevadm control --reload 2>/dev/null || true
	fi
	rename_zones "$plan"
}

# The current name of the NIC with MAC $1 (from $NICS); in a dry run, the
# name the plan has given it so far.
name_of() {
	if [ "$DRYRUN" = 1 ]; then
		eval "echo \${DRY_$2:-\$3}"
		return
	fi
	while read -r n m _; do
		[ "$m" = "$1" ] && { echo "$n"; return; }
	done <<EOF
$NICS
EOF
}

# Two steps, so that zones can swap names: first to a temporary name, then
# to the zone name. Renaming needs the link down; the MAC stays. Each step
# looks the NIC up by MAC again: udev may have named it meanwhile (with the
# .link files above, it names it after the zone too). A few rounds, then
# check the result.
rename_zones() {
	round=0
	while [ "$round" -lt 5 ]; do
		round=$((round + 1))
		again=0
		[ "$DRYRUN" = 1 ] || NICS=$(list_nics)
		while read -r zone name mac path; do
			[ -n "$zone" ] || continue
			cur=$(name_of "$mac" "$zone" "$name")
			case $cur in "" | "${zone}0" | xfz-*) continue ;; esac
			if ip_ link set dev "$cur" down 2>/dev/null && ip_ link set dev "$cur" name "xfz-$zone" 2>/dev/null; then
				eval "DRY_$zone=xfz-$zone"
			else
				log "$zone: $cur changed while being renamed; trying again"
				again=1
			fi
		done <<EOF
$1
EOF
		[ "$DRYRUN" = 1 ] || NICS=$(list_nics)
		while read -r zone name mac path; do
			[ -n "$zone" ] || continue
			cur=$(name_of "$mac" "$zone" "$name")
			[ "$cur" = "xfz-$zone" ] || continue
			if ip_ link set dev "$cur" name "${zone}0" 2>/dev/null; then
				eval "DRY_$zone=${zone}0"
			else
				log "$zone: $cur could not be renamed ${zone}0 yet; trying again"
				again=1
			fi
		done <<EOF
$1
EOF
		[ "$again" = 0 ] && break
		[ "$DRYRUN" = 1 ] && break
		sleep 1
	done
	[ "$DRYRUN" = 1 ] || NICS=$(list_nics)
	rc=0
	while read -r zone name mac path; do
		[ -n "$zone" ] || continue
		cur=$(name_of "$mac" "$zone" "$name")
		if [ "$cur" = "${zone}0" ]; then
			if [ "$name" = "$cur" ]; then log "$zone: ${zone}0 ($mac, $path)"; else log "$zone: $name -> ${zone}0 ($mac, $path)"; fi
		else
			log "$zone: could not name the NIC with MAC $mac ${zone}0 (it is '${cur:-gone}')"
			rc=1
		fi
	done <<EOF
$1
EOF
	[ -n "$1" ] || log "no zone NICs found"
	return "$rc"
}

cmd_plan() {
	want_macs
	NICS=$(list_nics)
	plan_zones
}

cmd_show() {
	list_nics | while read -r n mac path; do
		case $n in green0 | red0) echo "${n%0} $n $mac $path" ;; esac
	done
}
