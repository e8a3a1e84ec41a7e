# shellcheck shell=sh
# xdpfire-setup, IPv4 helpers for the render command: checks of addresses
# and prefixes, and address arithmetic. Shell only, no forks.

is_octet() {
	case $1 in '' | *[!0-9]* | 0?*) return 1 ;; esac
	[ "${#1}" -le 3 ] && [ "$1" -le 255 ]
}

is_ipv4() {
	case $1 in *.*.*.*.* | *[!0-9.]*) return 1 ;; *.*.*.*) ;; *) return 1 ;; esac
	o1=${1%%.*}; r=${1#*.}; o2=${r%%.*}; r=${r#*.}; o3=${r%%.*}; o4=${r#*.}
	is_octet "$o1" && is_octet "$o2" && is_octet "$o3" && is_octet "$o4"
}

# is_cidr ADDR/PREFIX (prefix 8..30, so there is room for hosts)
is_cidr() {
	case $1 in */*) ;; *) return 1 ;; esac
	is_ipv4 "${1%/*}" || return 1
	p=${1#*/}
	case $p in '' | *[!0-9]* | ???*) return 1 ;; esac
	[ "$p" -ge 8 ] && [ "$p" -le 30 ]
}

ip2int() {
	r=$1
	a=${r%%.*}; r=${r#*.}; b=${r%%.*}; r=${r#*.}; c=${r%%.*}; d=${r#*.}
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

int2ip() {
	echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}
