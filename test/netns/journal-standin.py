#!/usr/bin/env python3
"""systemd and journald around one service process, for the log tests
(test/netns/log-once.test.ts). Stdlib only.

On the box, systemd connects a service's stdout and stderr to journald with
a Unix stream socket (/run/systemd/journal/stdout) and puts that socket's
device and inode numbers in the service's environment as
JOURNAL_STREAM=DEV:INO. /dev/log is journald's as well
(/run/systemd/journal/dev-log). journald forwards what it stores to rsyslog
(Debian's ForwardToSyslog=yes), which writes /var/log/messages. A line that a
service writes both to /dev/log and to stdout is therefore two journal entries
and two lines in /var/log/messages.

    journal-standin.py --dir DIR --forward SOCK --stdout journal|tty -- CMD ARG...

plays both parts for CMD:
- DIR/dev-log is a datagram socket that takes syslog lines (journald's /dev/log);
- CMD's stdout and stderr are
    journal: one end of a Unix stream socket pair, with JOURNAL_STREAM=DEV:INO
             of that end (systemd's StandardOutput=journal); this script reads
             the other end line by line;
    tty:     a pseudo-terminal (a person running CMD by hand), while
             JOURNAL_STREAM names another socket (as a shell started from a
             service would pass it on);
- every journal entry (a dev-log datagram, or a stdout line in journal mode)
  is appended to DIR/journal.jsonl as {"via": "dev-log"|"stdout", "ident",
  "pid", "msg"} and forwarded to the syslog socket SOCK (rsyslogd's) as an
  RFC 3164 line, as journald forwards it;
- what CMD writes to the terminal goes to DIR/tty.log, one line per line.

Prints {"pid": N} (CMD's) on stdout once CMD runs. On SIGTERM or SIGINT, CMD
gets SIGTERM; the script reads what is left and exits with CMD's status. CMD
is killed if this script dies (PR_SET_PDEATHSIG).
"""
import ctypes
import json
import os
import pty
import re
import selectors
import signal
import socket
import subprocess
import sys
import time

SYSLOG_LINE = re.compile(r'^<(\d+)>(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )?([^\s\[:]+)(?:\[(\d+)\])?: ?(.*)$', re.S)


def parse_args(argv):
    opts, i = {}, 0
    while i < len(argv) and argv[i] != '--':
        opts[argv[i].lstrip('-')] = argv[i + 1]
        i += 2
    cmd = argv[i + 1:]
    if not cmd or set(opts) != {'dir', 'forward', 'stdout'} or opts['stdout'] not in ('journal', 'tty'):
        sys.exit('usage: journal-standin.py --dir DIR --forward SOCK --stdout journal|tty -- CMD ARG...')
    return opts, cmd


def main():
    opts, cmd = parse_args(sys.argv[1:])
    d = opts['dir']
    ident = os.path.basename(cmd[0])
    journal = open(os.path.join(d, 'journal.jsonl'), 'a', encoding='utf-8')
    tty_log = open(os.path.join(d, 'tty.log'), 'a', encoding='utf-8')
    fwd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def forward(line):
        try:
            fwd.sendto(line.encode(), opts['forward'])
        except OSError:
            pass

    def entry(via, ident_, pid, msg):
        journal.write(json.dumps({'via': via, 'ident': ident_, 'pid': pid, 'msg': msg}) + '\n')
        journal.flush()
        ts = time.strftime('%b %e %H:%M:%S')
        forward(f'<30>{ts} {ident_}[{pid}]: {msg}')

    dev_log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dev_log_path = os.path.join(d, 'dev-log')
    if os.path.exists(dev_log_path):
        os.unlink(dev_log_path)
    dev_log.bind(dev_log_path)
    dev_log.setblocking(False)

    env = dict(os.environ)
    keep = []
    if opts['stdout'] == 'journal':
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        st = os.fstat(theirs.fileno())
        env['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'
        child_fd = theirs.fileno()
        read_fd = ours.fileno()
        keep += [ours, theirs]
    else:
        read_fd, child_fd = pty.openpty()
        other, other_peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        st = os.fstat(other_peer.fileno())
        env['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'
        keep += [other, other_peer]

    libc = ctypes.CDLL(None, use_errno=True)

    def die_with_parent():
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=child_fd, stderr=child_fd, env=env,
                            preexec_fn=die_with_parent)
    if opts['stdout'] == 'journal':
        theirs.close()
    else:
        os.close(child_fd)
    print(json.dumps({'pid': proc.pid}), flush=True)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    sel = selectors.DefaultSelector()
    sel.register(dev_log, selectors.EVENT_READ, 'dev-log')
    sel.register(read_fd, selectors.EVENT_READ, 'out')
    pending = b''
    out_open = True

    def read_dev_log():
        while True:
            try:
                data = dev_log.recv(65536)
            except BlockingIOError:
                return
            m = SYSLOG_LINE.match(data.decode('utf-8', 'replace'))
            if m:
                entry('dev-log', m.group(2), int(m.group(3) or 0), m.group(4).rstrip('\n'))
            else:
                entry('dev-log', ident, 0, data.decode('utf-8', 'replace'))

    def out_lines(text):
        for line in text.split('\n'):
            line = line.rstrip('\r')
            if opts['stdout'] == 'journal':
                entry('stdout', ident, proc.pid, line)
            else:
                tty_log.write(line + '\n')
                tty_log.flush()

    signalled = False
    while True:
        if stopping and not signalled and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            signalled = True
        for key, _ in sel.select(timeout=0.1):
            if key.data == 'dev-log':
                read_dev_log()
                continue
            try:
                data = os.read(read_fd, 65536)
            except OSError:  # a pty whose last writer is gone: EIO
                data = b''
            if not data:
                sel.unregister(read_fd)
                out_open = False
                continue
            pending += data
            *lines, pending = pending.split(b'\n')
            if lines:
                out_lines(b'\n'.join(lines).decode('utf-8', 'replace'))
        if proc.poll() is not None and not out_open:
            break
    read_dev_log()
    if pending:
        out_lines(pending.decode('utf-8', 'replace'))
    os.unlink(dev_log_path)
    sys.exit(proc.returncode if proc.returncode >= 0 else 128 - proc.returncode)


if __name__ == '__main__':
    main()
