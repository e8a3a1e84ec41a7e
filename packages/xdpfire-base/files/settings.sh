# shellcheck shell=sh
# /usr/lib/xdpfire/settings.sh: the one reader of XDPFire's KEY=value files
# (/etc/xdpfire/settings.conf, zones.conf, xdp-sni.conf). POSIX sh, sourced;
# it only defines functions, and every helper variable starts with _st_.
#
# The format, line by line:
#   - blank, or a comment: '#' as the first non-blank character;
#   - KEY=value, KEY being upper-case letters, digits and '_' (not first a
#     digit). Blanks around KEY and around the value are dropped, and so is
#     one pair of matching quotes ('...' or "...") around the whole value;
#   - anything else is an error.
# A value is text and nothing else: '$', '`', ';', '\', '#' and quotes
# inside it stay as they are. Nothing is ever evaluated or expanded, and
# nothing outside the names the caller allows can be set.
#
# Errors go to stderr as "<program>: FILE:LINE: what is wrong"; the good
# lines of the file still count, and the function returns 1 at the end.
#
#   settings_load FILE PREFIX [KEY...]
#     Every KEY=value line sets the variable ${PREFIX}KEY (a later line wins).
#     Given KEYs, a key not among them is an error, and each ${PREFIX}KEY is
#     unset first: afterwards it is set exactly when the file sets it (not
#     by the environment), so defaults go after the call, as ${KEY-default}.
#     An empty PREFIX needs KEYs, so that a file can only set the variables
#     its reader names (never PATH or IFS). A missing or unreadable FILE
#     sets nothing.
#
#   settings_get FILE KEY [DEFAULT]
#     Prints the value of KEY's last line, or DEFAULT (empty when not given)
#     when no line sets KEY. A KEY line with an empty value prints nothing.

# _settings_parse LINE: sets _st_key and _st_val from a KEY=value line and
# returns 0; returns 1 for a blank or comment line; 2 for a malformed line,
# with the reason in _st_err. Parameter expansion only, no forks.
_settings_parse() {
	_st_l=${1#"${1%%[![:space:]]*}"}
	case $_st_l in '' | '#'*) return 1 ;; esac
	case $_st_l in
	*=*) ;;
	*)
		_st_err="not KEY=value: '$1'"
		return 2
		;;
	esac
	_st_key=${_st_l%%=*}
	_st_key=${_st_key%"${_st_key##*[![:space:]]}"}
	case $_st_key in
	'' | [0-9]* | *[!A-Z0-9_]*)
		_st_err="bad key '$_st_key' (upper-case letters, digits and _, not first a digit)"
		return 2
		;;
	esac
	_st_val=${_st_l#*=}
	_st_val=${_st_val#"${_st_val%%[![:space:]]*}"}
	_st_val=${_st_val%"${_st_val##*[![:space:]]}"}
	case $_st_val in
	\"*\")
		_st_val=${_st_val#\"}
		_st_val=${_st_val%\"}
		;;
	\'*\')
		_st_val=${_st_val#\'}
		_st_val=${_st_val%\'}
		;;
	\"* | \'*)
		_st_err="$_st_key: the value's opening quote is not closed at the end of the line"
		return 2
		;;
	esac
	return 0
}

# _settings_scan FILE HANDLER: calls HANDLER KEY VALUE for every KEY=value
# line; HANDLER may refuse a line by setting _st_err and returning non-zero.
# Reports every bad line, returns 1 if there was one.
_settings_scan() {
	[ -r "$1" ] || return 0
	_st_rc=0
	_st_n=0
	while IFS= read -r _st_line || [ -n "$_st_line" ]; do
		_st_n=$((_st_n + 1))
		if _settings_parse "$_st_line"; then
			"$2" "$_st_key" "$_st_val" && continue
		else
			[ "$?" = 1 ] && continue
		fi
		printf '%s: %s:%s: %s\n' "${0##*/}" "$1" "$_st_n" "$_st_err" >&2
		_st_rc=1
	done <"$1"
	return "$_st_rc"
}

# The handler of settings_load: check the key against the allowed ones,
# then store the value with read, which assigns it as it is.
_settings_set() {
	if [ -n "$_st_keys" ]; then
		case $_st_keys in
		*" $1 "*) ;;
		*)
			_st_err="unknown key $1 (known:${_st_keys% })"
			return 1
			;;
		esac
	fi
	IFS= read -r "$_st_prefix$1" <<EOF
$2
EOF
}

settings_load() {
	_st_prefix=$2
	case $_st_prefix in
	[0-9]* | *[!A-Za-z0-9_]*)
		echo "settings_load: bad prefix '$_st_prefix'" >&2
		return 2
		;;
	esac
	_st_file=$1
	shift 2
	_st_keys=""
	if [ "$#" -gt 0 ]; then _st_keys=" $* "; fi
	for _st_k in "$@"; do
		case $_st_k in
		'' | [0-9]* | *[!A-Z0-9_]*)
			echo "settings_load: bad key '$_st_k' in the list" >&2
			return 2
			;;
		esac
		unset "$_st_prefix$_st_k"
	done
	if [ -z "$_st_prefix" ] && [ -z "$_st_keys" ]; then
		echo "settings_load: an empty prefix needs the list of keys" >&2
		return 2
	fi
	_settings_scan "$_st_file" _settings_set
}

_settings_match() {
	if [ "$1" = "$_st_want" ]; then
		_st_found=1
		_st_out=$2
	fi
	return 0
}

settings_get() {
	_st_want=$2
	_st_found=0
	_st_out=""
	_st_get_rc=0
	_settings_scan "$1" _settings_match || _st_get_rc=$?
	if [ "$_st_found" = 1 ]; then
		printf '%s\n' "$_st_out"
	else
		printf '%s\n' "${3:-}"
	fi
	return "$_st_get_rc"
}
