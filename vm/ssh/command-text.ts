// The text of what runs in the guest's shell, apart from the user's command itself: the tag that lets
// a timed-out command be killed, the command that kills it, and the framing of a long command. Pure
// string building, so it can be tested without a guest.

/** POSIX shell single quoting: safe for any string, including quotes, newlines and the empty string. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const TAG_VAR = 'NETLAB_EXEC';

/**
 * How a timed-out command is killed, and why this way:
 * - Closing the channel kills nothing: OpenSSH just detaches from a child that still runs
 *   ("session_close_by_channel: has child"), and so does dropbear.
 * - The SSH `signal` request is not sent: OpenSSH (>= 7.9: killpg() on the session) refuses it for
 *   root logins, which run without privilege separation ("session signalling requires privilege
 *   separation"), and our guests log in as root; dropbear honours it but kills only the session's
 *   shell, so the channel would close, and the result resolve, while what that shell started still
 *   runs. It also cannot arrive at all once the connection is gone.
 * - So the command is tagged: it runs as `export NETLAB_EXEC=<nonce>; <command>` in the session's
 *   shell, and everything it starts inherits the tag in its environment (/proc/PID/environ), in the
 *   background, in another process group or session too. At our deadline we mark the result timed out
 *   and a second session (tagKillCommand) kills every tagged process and the session's shell (whose
 *   command line holds the tag); the channel then reports the death: when the result resolves, the
 *   processes are gone.
 * - An earlier wrapper ran the command in a job of its own with a forked watchdog; its two forks cost
 *   ~15–30 ms of emulated CPU on every command, the tag costs nothing until a command times out.
 * If no report comes (a stuck guest), we close the channel and resolve anyway (client.ts, KILL_CONFIRM_MS).
 * Without a time limit the command goes to the login shell untouched.
 */
export function tagged(command: string, tag: string): string {
  return `export ${TAG_VAR}=${tag}; ${command}`;
}

// Kills what a tagged command started (its environment holds the tag) and its session's shell (its
// command line does), three rounds to catch forks in flight. Bash builtins; the tag is assembled at
// run time, so this command's own shell, whose command line holds it in two pieces, is not a match.
export function tagKillCommand(tag: string): string {
  const half = Math.ceil(tag.length / 2);
  return `t=${tag.slice(0, half)}; t="${TAG_VAR}=\${t}${tag.slice(half)}"; for r in 1 2 3; do k=;`
    + ' for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" = $$ ] && continue; e=(); c=();'
    + " mapfile -d '' -t e 2>/dev/null < $d/environ; mapfile -d '' -t c 2>/dev/null < $d/cmdline;"
    + ' case " ${e[*]} ${c[*]} " in *" $t "*|*" $t;"*) k="$k $p";; esac; done;'
    + ' [ -z "$k" ] && break; kill -KILL $k 2>/dev/null; done; true';
}

/** A FIFO netlab-init creates and nobody ever writes: `read -t` on it is a sleep without a process. */
export const NAP_FIFO = '/run/netlab-sleep';

/**
 * Longer commands travel on stdin ahead of the input: dropbear ends the whole connection on an exec
 * request over 9000 bytes ("String too long").
 */
const MAX_INLINE_COMMAND = 8_000;

/** The exec request and the stdin that run `command` with `input`. */
export function framed(command: string, input: string | undefined): { remote: string; input: string | undefined } {
  if (Buffer.byteLength(command) <= MAX_INLINE_COMMAND) return { remote: command, input };
  // The login shell reads the command up to a NUL (which no command holds) and leaves the rest
  // of stdin to it.
  return { remote: 'IFS= read -r -d \'\' netlab_cmd; eval "$netlab_cmd"', input: `${command}\0${input ?? ''}` };
}
