# shellcheck shell=sh
# /etc/profile.d/xdpfire-install.sh: when the live ISO was booted with
# "xdpfire.install" (the GRUB entry "Install ... to disk"), the root login
# shells on tty1 and on the serial console (both log in by themselves on the
# live system) offer the interactive installer.
case " $(cat /proc/cmdline 2>/dev/null) " in
*" xdpfire.install "*)
	if [ -e /run/live/medium/live/filesystem.squashfs ] && [ -z "${XDPFIRE_INSTALL_OFFERED:-}" ]; then
		case "$(tty 2>/dev/null)" in
		/dev/tty1 | /dev/ttyS0)
			export XDPFIRE_INSTALL_OFFERED=1
			/usr/lib/xdpfire-installer/on-tty
			;;
		esac
	fi
	;;
esac
