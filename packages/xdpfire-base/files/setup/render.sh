# shellcheck shell=sh
# xdpfire-setup, render: /etc/xdpfire/settings.conf to the files of
# systemd-networkd (green0, red0), nftables (xdpfire-settings.nft) and
# dnsmasq. Sourced by xdpfire-setup, which sets ETC, RUN, NETDIR and log;
# uses settings.sh and setup/ipv4.sh.
#
# Every value is checked; a bad one is logged and its default is used.

# onoff VALUE: "on" for the usual ways of saying yes, else "off".
onoff() {
	case $1 in
	on | yes | true | 1 | ON | YES | TRUE | On | Yes | True) echo on ;;
	*) echo off ;;
	esac
}

cmd_render() {
	# The keys settings.conf may hold, each read into S_<key>; an empty
	# value means the default, hence ${S_<key>:-default} below. A bad line
	# (or an unknown key) has been reported by the reader and is left out;
	# the rest still renders.
	settings_load "$ETC/settings.conf" S_ GREEN_ADDRESS DHCP_ENABLED \
		DHCP_RANGE_START DHCP_RANGE_END DHCP_LEASE DOMAIN \
		RED_TYPE RED_ADDRESS RED_GATEWAY RED_DNS SSH_ENABLED || :
	green=${S_GREEN_ADDRESS:-192.168.1.1/24}
	if ! is_cidr "$green"; then
		log "GREEN_ADDRESS '$green' is not an IPv4 address/prefix (8..30); using 192.168.1.1/24"
		green=192.168.1.1/24
	fi
	gip=${green%/*}
	plen=${green#*/}
	mask=$(((0xffffffff << (32 - plen)) & 0xffffffff))
	net=$(($(ip2int "$gip") & mask))
	bcast=$((net | (~mask & 0xffffffff)))
	if [ "$plen" -le 24 ]; then
		start=$((net + 100))
		end=$((net + 199))
	else
		start=$((net + (bcast - net + 1) / 2))
		end=$((bcast - 1))
	fi
	dstart=${S_DHCP_RANGE_START:-$(int2ip "$start")}
	dend=${S_DHCP_RANGE_END:-$(int2ip "$end")}
	for v in "$dstart" "$dend"; do
		if ! is_ipv4 "$v" || [ $(($(ip2int "$v") & mask)) != "$net" ]; then
			log "DHCP range address '$v' is not in $(int2ip "$net")/$plen; using the default range"
			dstart=$(int2ip "$start")
			dend=$(int2ip "$end")
		fi
	done
	lease=${S_DHCP_LEASE:-12h}
	case $lease in
	infinite) ;;
	*) case ${lease%[mhd]} in '' | *[!0-9]*) log "DHCP_LEASE '$lease' is not N, Nm, Nh, Nd or infinite; using 12h"; lease=12h ;; esac ;;
	esac
	domain=${S_DOMAIN:-localdomain}
	case $domain in *[!A-Za-z0-9.-]* | [.-]* | *[.-]) domain=localdomain ;; esac

	mkdir -p "$NETDIR" "$RUN" "$RUN/dnsmasq.d"
	cat >"$NETDIR/10-xdpfire-green0.network" <<EOF
# Written by xdpfire-setup render from $ETC/settings.conf.
[Match]
Name=green0

[Link]
RequiredForOnline=no

[Network]
Address=$green
ConfigureWithoutCarrier=yes
IPv6AcceptRA=no
LinkLocalAddressing=ipv6
EOF

	redtype=${S_RED_TYPE:-DHCP}
	case $redtype in [Ss][Tt][Aa][Tt][Ii][Cc]) redtype=STATIC ;; [Dd][Hh][Cc][Pp]) redtype=DHCP ;; esac
	{
		echo "# Written by xdpfire-setup render from $ETC/settings.conf."
		printf '[Match]\nName=red0\n\n[Network]\n'
		if [ "$redtype" = STATIC ]; then
			raddr=${S_RED_ADDRESS:-}
			rgw=${S_RED_GATEWAY:-}
			if is_cidr "$raddr"; then echo "Address=$raddr"; else log "RED_ADDRESS '$raddr' is not an IPv4 address/prefix"; fi
			if is_ipv4 "$rgw"; then echo "Gateway=$rgw"; elif [ -n "$rgw" ]; then log "RED_GATEWAY '$rgw' is not an IPv4 address"; fi
			dns=${S_RED_DNS:-}
			# Servers are separated by blanks or commas; split the list
			# without globbing its words.
			set -f
			for s in $(printf '%s\n' "$dns" | tr ',' ' '); do
				if is_ipv4 "$s"; then echo "DNS=$s"; else log "RED_DNS: ignoring '$s'"; fi
			done
			set +f
			echo "IPv6AcceptRA=no"
		else
			[ "$redtype" = DHCP ] || log "RED_TYPE '$redtype' is neither DHCP nor STATIC; using DHCP"
			printf 'DHCP=ipv4\nIPv6AcceptRA=no\n\n[DHCPv4]\nUseDNS=yes\nUseRoutes=yes\nUseDomains=no\n'
		fi
	} >"$NETDIR/10-xdpfire-red0.network"

	ssh=$(onoff "${S_SSH_ENABLED:-off}")
	tcp="444, 53"
	[ "$ssh" = on ] && tcp="$tcp, 22"
	cat >"$RUN/xdpfire-settings.nft.tmp" <<EOF
# Written by xdpfire-setup render from $ETC/settings.conf.
define green_if = "green0"
define red_if = "red0"
define green_net = $(int2ip "$net")/$plen
define green_tcp = { $tcp }
EOF
	mv "$RUN/xdpfire-settings.nft.tmp" "$RUN/xdpfire-settings.nft"

	{
		echo "# Written by xdpfire-setup render from $ETC/settings.conf."
		echo "# DNS and DHCP on green only; upstream servers are those systemd-resolved"
		echo "# learned on red (DHCP or RED_DNS)."
		echo "interface=green0"
		echo "bind-dynamic"
		echo "resolv-file=/run/systemd/resolve/resolv.conf"
		echo "domain-needed"
		echo "bogus-priv"
		echo "domain=$domain"
		echo "local=/$domain/"
		echo "expand-hosts"
		echo "cache-size=1000"
		echo "# Other packages' settings for this dnsmasq (xdp-sni: the DNS doors)."
		echo "conf-dir=$RUN/dnsmasq.d,*.conf"
		if [ "$(onoff "${S_DHCP_ENABLED:-on}")" = on ]; then
			echo "dhcp-range=green0,$dstart,$dend,$(int2ip "$mask"),$lease"
			echo "dhcp-option=green0,option:router,$gip"
			echo "dhcp-option=green0,option:dns-server,$gip"
			echo "dhcp-authoritative"
			echo "log-dhcp"
		fi
	} >"$RUN/dnsmasq.conf.tmp"
	mv "$RUN/dnsmasq.conf.tmp" "$RUN/dnsmasq.conf"
	log "rendered: green $green, red $redtype, DHCP $dstart-$dend, SSH $ssh"
}
